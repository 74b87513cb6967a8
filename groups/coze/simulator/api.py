"""Coze's calls as the simulator answers them: routes, limits, codes and the envelope."""

# Coze's voiceprint pages, its error codes and what SDKs and live answers show are the
# reference. Where Coze documents nothing, the simulator makes a choice, and each such
# choice says so in a comment marked [inf]; [obs] marks what was seen, not documented.

import json
import random
import time

from .state import DESC_MAX, NAME_MAX

GROUPS_PATH = "/v1/audio/voiceprint_groups"
USERS_ME_PATH = "/v1/users/me"
PAGE_SIZE_MAX = 200
JSON_TYPE = "application/json; charset=utf-8"

# Codes from Coze's error-code page that the simulator answers or its faults play.
CODE_INVALID = 4000  # invalid parameter
CODE_USAGE_LIMIT = 4008  # the day's usage limit
CODE_RATE_LIMITED = 4009  # the system's request ceiling: retry later
CODE_MODEL_ERROR = 4013  # a model error, which some SDKs take for a rate limit
CODE_RPM_LIMIT = 4020  # the RPM peak
CODE_AUTH = 4100  # authentication is invalid
CODE_NO_PERMISSION = 4101  # no permission for the resource
CODE_NOT_FOUND = 4200  # resource not found
CODE_INTERNAL = 5000  # internal server error
# [inf] Coze documents no code for a full account (1000 groups): this one is the simulator's.
CODE_QUOTA = 4118

AUTH_MSG = "authentication is invalid"  # Coze's live msg for 4100 [obs]
# [inf] Coze's answer to a path it does not serve is not documented: a plain 404 page,
# as a gateway gives, never an envelope with a code of our making.
NOT_FOUND_PAGE = b"404 page not found"
SERVED = {("POST", GROUPS_PATH), ("GET", GROUPS_PATH), ("GET", USERS_ME_PATH)}


class Refusal(Exception):
    """Coze saying no: its code and msg, and the HTTP status it comes with.

    [inf] Coze documents no HTTP status for its refusals: the simulator answers 200 with the
    code in the body, except 4100 with 401, as seen from the live service [obs].
    """

    def __init__(self, code, msg, status=200):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def new_logid():
    """A fresh logid in Coze's shape: a 14-digit timestamp and 20 upper-case hex digits."""
    return time.strftime("%Y%m%d%H%M%S") + f"{random.getrandbits(80):020X}"


def envelope(status, code, msg, data=None):
    """An answer in Coze's envelope: (status, body, content type, logid). Without `data`
    the body has no data key at all, as Coze's update and delete answers."""
    logid = new_logid()
    payload = {"code": code, "msg": msg}
    if data is not None:
        payload["data"] = data
    payload["detail"] = {"logid": logid}
    return status, json.dumps(payload, ensure_ascii=False).encode(), JSON_TYPE, logid


def unauthorized():
    """The answer to a missing or wrong token.

    [inf] A missing Authorization header gets the same answer as a wrong token. Coze's error
    bodies may lack `detail` [obs]; the simulator always sends it.
    """
    return envelope(401, CODE_AUTH, AUTH_MSG)


def not_found_page():
    """The answer to a path (or a method on it) that Coze does not serve."""
    return 404, NOT_FOUND_PAGE, "text/plain; charset=utf-8", new_logid()


def served(method, path):
    """Whether `method path` is one of the calls the simulator serves.

    [inf] Another method on a served path (PATCH on the groups) gets the plain 404 too.
    """
    if (method, path) in SERVED:
        return True
    if identify_group(path) is not None:
        return method == "POST"
    return feature_ids(path) is not None and method in feature_ids(path)[2]


def identify_group(path):
    """The group id of a speaker identification's path, or None for any other path."""
    group_id, slash, rest = path.removeprefix(GROUPS_PATH + "/").partition("/")
    if path.startswith(GROUPS_PATH + "/") and group_id and slash and rest == "speaker_identify":
        return group_id
    return None


def feature_ids(path):
    """(group_id, feature_id or None, the methods served) for a path under a group:
    the group itself, its voiceprints, or one voiceprint; None for any other path."""
    if not path.startswith(GROUPS_PATH + "/"):
        return None
    parts = path[len(GROUPS_PATH) + 1 :].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None, ("PUT", "DELETE")
    if len(parts) == 2 and parts[0] and parts[1] == "features":
        return parts[0], None, ("POST", "GET")
    if len(parts) == 3 and parts[0] and parts[1] == "features" and parts[2]:
        return parts[0], parts[2], ("PUT", "DELETE")
    return None


def route(account, method, path, query, body, raw, form=None):
    """Do one served call on `account`: (HTTP status, code, msg, data or None). `form`
    is a multipart body as features.parse_form reads it (None when not multipart)."""
    from . import features, identify  # they import this module's codes

    try:
        if (group_id := identify_group(path)) is not None:
            return 200, 0, "", identify.route(account, group_id, form)
        ids = feature_ids(path)
        if ids and path != f"{GROUPS_PATH}/{ids[0]}":  # a group's voiceprints
            group_id, feature_id, _ = ids
            return 200, 0, "", features.route(account, method, group_id, feature_id, query, form)
        # [inf] A body that is not JSON is an invalid parameter (4000).
        if raw and body is None:
            raise Refusal(CODE_INVALID, "invalid parameter: the body is not valid JSON")
        if path == USERS_ME_PATH:
            return 200, 0, "", dict(account.user)
        if path == GROUPS_PATH:
            data = _create(account, body) if method == "POST" else _list(account, query)
            return 200, 0, "", data
        group_id = path.rpartition("/")[2]
        if not group_id.isascii() or not group_id.isdigit():
            # [inf] Coze documents the path's group_id as an Integer; its answer to other
            # text is not documented: an invalid parameter.
            raise Refusal(CODE_INVALID, "invalid parameter: group_id must be a number")
        if method == "PUT":
            _update(account, group_id, body)
        else:
            _delete(account, group_id)
        return 200, 0, "", None  # update and delete answer no data
    except Refusal as refusal:
        return refusal.status, refusal.code, refusal.msg, None


def _create(account, body):
    name, desc = _checked_fields(body, creating=True)
    # [inf] Coze documents the quota per account, not whose groups count: here all the
    # team's, a colleague's too. Names need not be unique: Coze documents no such rule.
    if len(account.groups) >= account.quota:
        raise Refusal(
            CODE_QUOTA,
            f"voiceprint group quota exceeded: this account may hold at most {account.quota} "
            "groups; delete one or upgrade to the enterprise edition",
        )
    group = account.add_group(name, desc or "", int(time.time()))
    account.save()
    return {"id": group["id"]}


def page_params(query):
    """(page_num, page_size) of a list call, checked against Coze's ranges."""
    page_num, page_size = _int_param(query, "page_num", 1), _int_param(query, "page_size", 10)
    # [inf] Coze documents the ranges, not its answer outside them: 4000.
    if page_num < 1:
        raise Refusal(CODE_INVALID, "invalid parameter: page_num must be at least 1")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise Refusal(CODE_INVALID, "invalid parameter: page_size must be from 1 to 200")
    return page_num, page_size


def _list(account, query):
    page_num, page_size = page_params(query)
    prefix, group_id = query.get("name", ""), query.get("group_id")
    user_id = query.get("user_id") or None  # [inf] an empty user_id counts as none
    if user_id is not None and user_id != account.user["user_id"]:
        # [inf] user_id "may only be the caller's own"; the answer to another is not
        # documented: the simulator refuses it as a lack of permission.
        raise Refusal(CODE_NO_PERMISSION, "no permission: user_id may only be your own")
    found = [
        group
        # [inf] The order of items is not documented: newest first.
        for group in sorted(account.groups.values(), key=_newest_first)
        if group["name"].startswith(prefix)
        and group_id in (None, group["id"])
        and (user_id is None or account.made_by_user(group))
    ]
    page = found[(page_num - 1) * page_size : page_num * page_size]  # [inf] past the end: []
    items = [{**group, "user_info": dict(group["user_info"])} for group in page]
    return {"total": len(found), "items": items}


def _update(account, group_id, body):
    name, desc = _checked_fields(body, creating=False)
    group = _own(account, group_id)
    # [inf] An update that changes nothing ({}) is not documented: accepted, changing nothing.
    changes = {key: value for key, value in (("name", name), ("desc", desc)) if value is not None}
    if changes:
        group.update(changes, updated_at=int(time.time()))
        account.save()


def _delete(account, group_id):
    account.delete_group(_own(account, group_id)["id"])  # its voiceprints with it [doc]
    account.save()


def _own(account, group_id):
    """The group, if it exists and the token's user made it (Coze: only its creator may
    update or delete a group)."""
    if group_id not in account.groups:
        raise Refusal(CODE_NOT_FOUND, f"voiceprint group not found: {group_id}")
    group = account.groups[group_id]
    if not account.made_by_user(group):
        # [inf] Coze documents no code for a non-creator's update or delete: 4101.
        raise Refusal(
            CODE_NO_PERMISSION, "no permission: only the group's creator may change or delete it"
        )
    return group


def json_or_none(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _int_param(query, name, default):
    try:
        return int(query.get(name, default))
    except ValueError:
        raise Refusal(CODE_INVALID, f"invalid parameter: {name} must be a number") from None


def _checked_fields(body, *, creating):
    """The (name, desc) of a create or update body, checked against Coze's limits."""
    if not isinstance(body, dict):
        raise Refusal(CODE_INVALID, "invalid parameter: the body must be a JSON object")
    name, desc = body.get("name"), body.get("desc")
    if creating and name is None:
        raise Refusal(CODE_INVALID, "invalid parameter: name is required")
    # [inf] An empty name is refused, though Coze documents only the upper limit.
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX):
        raise Refusal(CODE_INVALID, f"invalid parameter: name must be 1 to {NAME_MAX} characters")
    if desc is not None and (not isinstance(desc, str) or len(desc) > DESC_MAX):
        raise Refusal(
            CODE_INVALID, f"invalid parameter: desc must be {DESC_MAX} characters or fewer"
        )
    return name, desc


def _newest_first(group):
    return -group["created_at"], -int(group["id"])
