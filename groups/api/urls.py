"""The API's URLs under /api/: the register's resources (and enrolling a voiceprint in a
group), quota, sync, the OpenAPI schema and its documentation page."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import docs, people, views, voiceprints

router = DefaultRouter()
router.APIRootView = views.ApiRoot
router.register("devices", views.DeviceViewSet, basename="api-device")
router.register("groups", views.GroupViewSet, basename="api-group")
router.register("voiceprints", voiceprints.VoiceprintViewSet, basename="api-voiceprint")
router.register("people", people.PersonViewSet, basename="api-person")
router.register("audit", views.AuditEntryViewSet, basename="api-audit")
router.register("jobs", views.JobViewSet, basename="api-job")

urlpatterns = [
    path("quota/", views.QuotaView.as_view(), name="api-quota"),
    path("sync/", views.SyncView.as_view(), name="api-sync"),
    path("groups/<int:pk>/voiceprints/", voiceprints.EnrollView.as_view(), name="api-enroll"),
    path("schema/", docs.SchemaView.as_view(), name="api-schema"),
    path("docs/", docs.DocsView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
]
