"""Helpers every page shares: the permission check that leaves an audit row."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q

from .. import audit, wording
from ..models import AuditEntry, VoiceprintGroup

Action = AuditEntry.Action
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


def tell(request, message):
    """Show a services.messages.Message on the next page."""
    levels = {"error": messages.ERROR, "warning": messages.WARNING, "info": messages.INFO}
    messages.add_message(request, levels[message.level], message.text)
