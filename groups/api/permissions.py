"""What a caller may do: the roles' model permissions (view to read; add, change, delete
to write; a view may name its own), a read-only token only reads, and requests with a token
are throttled per person. Every refusal is audited as the pages audit theirs."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import UserRateThrottle

from .. import audit
from ..actors import Actor
from ..models import ApiToken, AuditEntry
from ..services import tokens
from ..wording import fact

ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class ReadOnlyToken(exceptions.PermissionDenied):
    default_detail = _("This API token is read-only: it may only read (GET).")
    default_code = "token_read_only"


def answers(view, method):
    """Whether `view` has an operation for `method` (a viewset's detail route answers GET,
    PUT, PATCH and DELETE, not POST; no view answers TRACE)."""
    method = method.lower()
    return method in view.http_method_names and hasattr(view, method)


def required_permissions(request, view):
    """The permissions a request needs: the view's own for the method, else the model's."""
    own = getattr(view, "required_permissions", None)
    if own is not None:
        return own.get(request.method, [])
    model = view.get_queryset().model
    action = ACTIONS.get(request.method, "change")
    return [f"{model._meta.app_label}.{action}_{model._meta.model_name}"]


class RolePermissions(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401, with the Bearer challenge
        if not answers(view, request.method):
            return True  # DRF answers 405 with Allow: no permission to ask, nothing to audit
        token = request.auth if isinstance(request.auth, ApiToken) else None
        path = request.path[:300]
        if token is not None and token.read_only and request.method not in SAFE_METHODS:
            actor = Actor.for_api(request, user)
            tokens.refuse(actor, "", token, "read_only", method=request.method, path=path)
            raise ReadOnlyToken
        needed = required_permissions(request, view)
        if user.has_perms(needed):
            return True
        facts = fact("permission", permission=", ".join(needed), method=request.method, path=path)
        audit.refuse(Actor.for_api(request, user), AuditEntry.Action.PERMISSION_DENIED, facts=facts)
        raise exceptions.PermissionDenied(_("Your role does not allow this."))


class TokenRateThrottle(UserRateThrottle):
    """Requests with a token, per person, at API_THROTTLE_RATE (e.g. 600/minute); pages
    and the docs signed in with a session are not counted."""

    scope = "api"

    def get_rate(self):
        return settings.API_THROTTLE_RATE

    def allow_request(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return True
        return super().allow_request(request, view)
