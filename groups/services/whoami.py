"""Who each Coze account's token belongs to: Coze lets only the creator of a group or
voiceprint change or delete it, so vpadmin compares this user with an item's creator.
Asked of Coze (GET /v1/users/me) once and kept on the account's row."""

import hashlib
import logging

from .. import coze
from ..audit import storable
from ..coze.accounts import DEFAULT, configured
from ..models import CozeAccount

log = logging.getLogger("vpadmin.coze")

USER_ID_MAX = CozeAccount._meta.get_field("coze_user_id").max_length
USER_NAME_MAX = CozeAccount._meta.get_field("coze_user_name").max_length

# Per account name, the token (by a hash: never the token itself) whose user this process
# has asked Coze about: the stored user is trusted only for it, so a token changed in the
# settings is asked about again, once per process.
_asked_for = {}


def _token_hash(name):
    token = configured().get(name, {}).get("token", "")
    return hashlib.sha256(token.encode()).hexdigest()


def token_user(account=None, *, refresh: bool = False) -> tuple[str, str] | None:
    """(user_id, user_name) of the Coze user of `account`'s token (a name or a row; the
    default account when None), as the register keeps it; asked of Coze and stored when
    not known yet, or when `refresh`. None when it is not known and Coze cannot say now
    (the reason is logged, never raised)."""
    name = getattr(account, "name", account) or DEFAULT
    if not refresh and _asked_for.get(name) == _token_hash(name):
        row = CozeAccount.objects.filter(name=name).exclude(coze_user_id="")
        known = row.values_list("coze_user_id", "coze_user_name").first()
        if known is not None:
            return known
    try:
        answer = coze.get_client(name).me()
    except coze.CozeError as error:
        log.warning("Coze could not say who account %s's token belongs to: %s", name, error)
        return None
    user_id = str(answer.data.get("user_id") or "").strip()
    user_name = storable(str(answer.data.get("user_name") or ""))[:USER_NAME_MAX]
    if not user_id.isprintable() or not 0 < len(user_id) <= USER_ID_MAX:
        log.warning("Coze's users/me answer has no user id to keep (logid %s)", answer.logid)
        return None
    known = {"coze_user_id": user_id, "coze_user_name": user_name}
    if not CozeAccount.objects.filter(name=name).update(**known):
        CozeAccount.named(name)  # the account's first row
        CozeAccount.objects.filter(name=name).update(**known)
    _asked_for[name] = _token_hash(name)
    return user_id, user_name
