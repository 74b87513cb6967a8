from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("devices/", views.device_list, name="device_list"),
    path("devices/new/", views.device_new, name="device_new"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    path("devices/<int:pk>/edit/", views.device_edit, name="device_edit"),
    path("devices/<int:pk>/delete/", views.device_delete, name="device_delete"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/new/", views.group_new, name="group_new"),
    path("groups/sync/", views.group_sync, name="group_sync"),
    path("groups/<int:pk>/", views.group_detail, name="group_detail"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/delete/", views.group_delete, name="group_delete"),
    path("groups/attempts/<int:pk>/check/", views.attempt_check, name="attempt_check"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("quota/", views.quota, name="quota"),
    path("team/", views.team, name="team"),
    path("team/new/", views.person_new, name="person_new"),
    path("team/<int:pk>/", views.person_detail, name="person_detail"),
    path("team/<int:pk>/password/", views.person_password, name="person_password"),
    path("team/locks/<int:pk>/unlock/", views.unlock_sign_in, name="unlock_sign_in"),
    path("me/", views.my_activity, name="my_activity"),
    path("me/password/", views.my_password, name="my_password"),
    path("healthz", views.healthz, name="healthz"),
]
