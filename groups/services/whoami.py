"""Who the Coze token belongs to: Coze lets only the creator of a group or voiceprint
change or delete it, so vpadmin compares this user with an item's creator. Asked of Coze
(GET /v1/users/me) once and kept on the account row."""

import hashlib
import logging

from django.conf import settings

from .. import coze
from ..audit import storable
from ..models import CozeAccount

log = logging.getLogger("vpadmin.coze")

USER_ID_MAX = CozeAccount._meta.get_field("coze_user_id").max_length
USER_NAME_MAX = CozeAccount._meta.get_field("coze_user_name").max_length

# The token (by a hash: never the token itself) whose user this process has asked Coze
# about: the stored user is trusted only for it, so a token changed in the settings is
# asked about again, once per process.
_asked_for = None


def _token_hash():
    return hashlib.sha256(settings.COZE_API_TOKEN.encode()).hexdigest()


def token_user(*, refresh: bool = False) -> tuple[str, str] | None:
    """(user_id, user_name) of the token's Coze user, as the register keeps it; asked of
    Coze and stored when not known yet, or when `refresh`. None when it is not known and
    Coze cannot say now (the reason is logged, never raised)."""
    global _asked_for
    if not refresh and _asked_for == _token_hash():
        account = CozeAccount.objects.filter(pk=1).exclude(coze_user_id="")
        known = account.values_list("coze_user_id", "coze_user_name").first()
        if known is not None:
            return known
    try:
        answer = coze.get_client().me()
    except coze.CozeError as error:
        log.warning("Coze could not say who the token belongs to: %s", error)
        return None
    user_id = str(answer.data.get("user_id") or "").strip()
    user_name = storable(str(answer.data.get("user_name") or ""))[:USER_NAME_MAX]
    if not user_id.isprintable() or not 0 < len(user_id) <= USER_ID_MAX:
        log.warning("Coze's users/me answer has no user id to keep (logid %s)", answer.logid)
        return None
    known = {"coze_user_id": user_id, "coze_user_name": user_name}
    if not CozeAccount.objects.filter(pk=1).update(**known):
        CozeAccount.objects.update_or_create(pk=1, defaults=known)  # the account's first row
    _asked_for = _token_hash()
    return user_id, user_name
