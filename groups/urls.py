"""The dashboard's URLs (DESIGN.md's URL map)."""

from django.urls import path

from .views import audit, dashboard, devices, groups, jobs, me, quota, sync, team

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("devices/", devices.device_list, name="device_list"),
    path("devices/new/", devices.device_new, name="device_new"),
    path("devices/<int:pk>/", devices.device_detail, name="device_detail"),
    path("devices/<int:pk>/edit/", devices.device_edit, name="device_edit"),
    path("devices/<int:pk>/delete/", devices.device_delete, name="device_delete"),
    path("groups/", groups.group_list, name="group_list"),
    path("groups/new/", groups.group_new, name="group_new"),
    path("groups/sync/", sync.group_sync, name="group_sync"),
    path("groups/<int:pk>/", groups.group_detail, name="group_detail"),
    path("groups/<int:pk>/edit/", groups.group_edit, name="group_edit"),
    path("groups/<int:pk>/delete/", groups.group_delete, name="group_delete"),
    path("groups/attempts/<int:pk>/check/", groups.attempt_check, name="attempt_check"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job_detail"),
    path("quota/", quota.quota, name="quota"),
    path("team/", team.team, name="team"),
    path("team/new/", team.member_new, name="member_new"),
    path("team/<int:pk>/", team.member_detail, name="member_detail"),
    path("team/<int:pk>/password/", team.member_password, name="member_password"),
    path("team/locks/<int:pk>/unlock/", team.unlock_sign_in, name="unlock_sign_in"),
    path("me/", me.my_activity, name="my_activity"),
    path("me/password/", me.my_password, name="my_password"),
    path("healthz", dashboard.healthz, name="healthz"),
]
