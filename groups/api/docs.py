"""The API's OpenAPI 3 schema (open to all: it describes, it holds no data) and its
documentation page, Swagger UI from drf-spectacular-sidecar's files served by vpadmin:
nothing is loaded from outside, and its script is a file, so the site's CSP holds."""

from django.contrib.auth.decorators import login_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated


class SchemaView(SpectacularAPIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


class DocsView(SpectacularSwaggerSplitView):
    """A page of the dashboard (signed in, as every page); its script comes from the same
    address with `?script`, not inline."""

    template_name = "api/docs.html"

    @classmethod
    def as_view(cls, *args, **kwargs):
        # DRF marks its views login_not_required (it authenticates them itself): this page
        # sends a visitor to the sign-in page, as every page does.
        return login_required(super().as_view(*args, **kwargs))

    title = "vpadmin API"
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = []
