"""Who the Coze token belongs to (GET /v1/users/me), asked once and kept: Coze lets only
the creator of a group or voiceprint change it, so vpadmin compares creators with it."""

from .. import coze
from ..models import CozeAccount


def token_user(*, refresh=False):
    """(user_id, user_name) of the token's Coze user, asking Coze when not known yet (or
    when `refresh`); None when Coze cannot say now."""
    account, _created = CozeAccount.objects.get_or_create(pk=1)
    if account.coze_user_id and not refresh:
        return account.coze_user_id, account.coze_user_name
    try:
        answer = coze.get_client().me()
    except coze.CozeError:
        return None
    user_id = str(answer.data.get("user_id") or "")[:32]
    if not user_id:
        return None
    name = str(answer.data.get("nick_name") or answer.data.get("user_name") or "")[:100]
    CozeAccount.objects.filter(pk=account.pk).update(coze_user_id=user_id, coze_user_name=name)
    return user_id, name
