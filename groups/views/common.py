"""Helpers every page shares: the permission check that leaves an audit row."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from .. import audit, coze, wording
from ..models import AuditEntry, VoiceprintGroup

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome
# Groups counted per device: the active ones, which hold the quota.
ACTIVE_GROUP_COUNT = Count(
    "voiceprint_groups", filter=Q(voiceprint_groups__state=VoiceprintGroup.State.ACTIVE)
)


def permission_required(perm):
    """Like Django's, but a refusal is a 403 page and an audit row."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                facts = wording.fact(
                    "permission", permission=perm, method=request.method, path=request.path[:300]
                )
                audit.refuse(request.actor, Action.PERMISSION_DENIED, facts=facts)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def tell_coze_error(request, error, *, refused, no_answer=None):
    """Show a Coze error: its msg, code, HTTP status and logid, or that no answer came."""
    if isinstance(error, coze.CozeNoAnswer) and no_answer:
        messages.warning(request, no_answer % {"reason": error.sentence()})
        return
    details = {
        "msg": error.sentence() or _("no message"),
        "code": or_dash(error.code),
        "status": or_dash(error.http_status),
        "logid": error.logid or "—",
    }
    if error.rate_limited:
        messages.error(
            request,
            _(
                "Coze is limiting how fast requests may be made (code %(code)s, HTTP %(status)s, "
                "logid %(logid)s). Nothing was changed: wait a minute, then try again."
            )
            % details,
        )
        return
    messages.error(request, refused % details)


def quota_full_message(used, limit):
    return _(
        "The Coze account is full: %(used)s of %(limit)s groups are in use. Nothing was sent "
        "to Coze. Delete a group you no longer need first, or ask an Administrator to sync "
        "with Coze if groups were deleted in Coze's console."
    ) % {"used": wording.shown(used), "limit": wording.shown(limit)}


def error_details(error):
    return _("code %(code)s, HTTP %(status)s, logid %(logid)s") % {
        "code": or_dash(error.code),
        "status": or_dash(error.http_status),
        "logid": error.logid or "—",
    }


def or_dash(value):
    return "—" if value is None else value
