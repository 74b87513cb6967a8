"""Helpers every page shares: the permission check that leaves an audit row, and whether
an upload was too large to keep."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from .. import audit, wording
from ..models import AuditEntry, VoiceprintGroup

Action = AuditEntry.Action
# Groups counted per device: the active ones, which hold the quota. A subquery, not a join
# grouped by device: a page of devices in the name's order counts the groups of its 50
# devices only, not of every device (ten thousand at ten times the scale) before choosing.
ACTIVE_GROUP_COUNT = Coalesce(
    Subquery(
        VoiceprintGroup.objects.filter(device=OuterRef("pk"), state=VoiceprintGroup.State.ACTIVE)
        .order_by()
        .values("device")
        .annotate(n=Count("*"))
        .values("n")
    ),
    0,
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


def audio_dropped(request):
    """Whether Django left out the uploaded file: it keeps files in memory only (audio never
    touches the disk), up to FILE_UPLOAD_MAX_MEMORY_SIZE for the whole request."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    too_large = length.isdigit() and int(length) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    return too_large and "audio" not in request.FILES
