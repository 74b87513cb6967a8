"""The API's OpenAPI 3 schema (open to all: it describes, it holds no data) and its
documentation page, Swagger UI from drf-spectacular-sidecar's files served by vpadmin:
nothing is loaded from outside, and its script is a file, so the site's CSP holds."""

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated


class SchemaView(SpectacularAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @classmethod
    def as_view(cls, *args, **kwargs):
        return login_not_required(super().as_view(*args, **kwargs))


class DocsView(SpectacularSwaggerSplitView):
    """A page of the dashboard (signed in, as every page); its script comes from the same
    address with `?script`, not inline."""

    template_name = "api/docs.html"
    title = "vpadmin API"
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = []
