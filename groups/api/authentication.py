"""Who calls the API: `Authorization: Bearer vpa_...` (or `Token vpa_...`), an API token
looked up by its hash. An unknown, expired or revoked token, or one whose owner can no
longer sign in, is a 401 and an audit row (counted instead, beyond API_REFUSED_TOKEN_LIMIT
from one address: groups.services.tokens)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from ..actors import Actor
from ..services import tokens

KEYWORDS = (b"bearer", b"token")
REFUSED = {
    "unknown": _("This API token is not known."),
    "revoked": _("This API token was revoked."),
    "expired": _("This API token has expired."),
    "inactive": _("This API token's owner can no longer sign in."),
}


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # no token: the session, if any, or a 401
        try:
            secret = parts[1].decode("ascii") if len(parts) == 2 else ""
        except UnicodeDecodeError:
            secret = ""
        token = tokens.find(secret) if secret else None
        reason = "unknown" if token is None else tokens.why_unusable(token)
        if reason is not None:
            owner = token.user if token is not None else None
            tokens.refuse_request(Actor.for_api(request, owner), secret, token, reason)
            raise AuthenticationFailed(REFUSED[reason])
        tokens.record_use(token)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    """The token as the schema's security scheme (drf-spectacular finds it by its class)."""

    target_class = "groups.api.authentication.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "vpa_...",
            "description": "An API token from /me/ (or `manage.py api_token create`): "
            "`Authorization: Bearer vpa_...` (`Token vpa_...` is accepted too).",
        }
