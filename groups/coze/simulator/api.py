"""Coze's voiceprint-group calls as the simulator answers them: routes, limits, envelope."""

import json
import random
import time

from .state import DESC_MAX, NAME_MAX

GROUPS_PATH = "/v1/audio/voiceprint_groups"
PAGE_SIZE_MAX = 200
JSON_TYPE = "application/json; charset=utf-8"

CODE_INVALID = 4000  # Coze's "invalid parameter"
CODE_NO_SUCH_API = 4004
CODE_USAGE_LIMIT = 4008  # the day's usage limit
CODE_RATE_LIMITED = 4009  # the system's request ceiling: retry later
CODE_MODEL_ERROR = 4013  # a model error, which some SDKs take for a rate limit
CODE_RPM_LIMIT = 4020  # the RPM peak
CODE_AUTH = 4100  # Coze's "authentication is invalid"
CODE_QUOTA = 4118
CODE_NOT_FOUND = 4200
CODE_INTERNAL = 5000


class Refusal(Exception):
    """Coze saying no: its code and msg, and the HTTP status it comes with."""

    def __init__(self, code, msg, status=200):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def new_logid():
    """A fresh logid in Coze's shape: a timestamp and 16 hex digits."""
    return time.strftime("%Y%m%d%H%M%S") + f"{random.getrandbits(64):016X}"


def envelope(status, code, msg, data=None):
    """An answer in Coze's envelope: (status, body, content type, logid)."""
    logid = new_logid()
    payload = {"code": code, "msg": msg}
    if data is not None:
        payload["data"] = data
    payload["detail"] = {"logid": logid}
    return status, json.dumps(payload, ensure_ascii=False).encode(), JSON_TYPE, logid


def unauthorized():
    msg = "authentication is invalid: the access token is missing, wrong or expired"
    return envelope(401, CODE_AUTH, msg)


def route(account, method, path, query, body, raw):
    """Do one call on `account`: (HTTP status, code, msg, data)."""
    parent, _, group_id = path.rpartition("/")
    group_id = group_id if parent == GROUPS_PATH else ""
    try:
        if raw and body is None:
            raise Refusal(CODE_INVALID, "invalid parameter: the body is not valid JSON")
        if path == GROUPS_PATH and method == "POST":
            return 200, 0, "", _create(account, body)
        if path == GROUPS_PATH and method == "GET":
            return 200, 0, "", _list(account, query)
        if group_id and method == "PUT":
            return 200, 0, "", _update(account, group_id, body)
        if group_id and method == "DELETE":
            return 200, 0, "", _delete(account, group_id)
        raise Refusal(CODE_NO_SUCH_API, f"no such API: {method} {path}", status=404)
    except Refusal as refusal:
        return refusal.status, refusal.code, refusal.msg, None


def _create(account, body):
    name, desc = _checked_fields(body, creating=True)
    if len(account.groups) >= account.quota:
        raise Refusal(
            CODE_QUOTA,
            f"voiceprint group quota exceeded: this account may hold at most {account.quota} "
            "groups; delete one or upgrade to the enterprise edition",
        )
    group = account.add_group(name, desc or "", int(time.time()))
    account.save()
    return {"id": group["id"]}


def _list(account, query):
    page_num, page_size = _int_param(query, "page_num", 1), _int_param(query, "page_size", 10)
    if page_num < 1:
        raise Refusal(CODE_INVALID, "invalid parameter: page_num must be at least 1")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise Refusal(CODE_INVALID, "invalid parameter: page_size must be from 1 to 200")
    prefix, group_id = query.get("name", ""), query.get("group_id")
    found = [
        group
        for group in sorted(account.groups.values(), key=_newest_first)
        if group["name"].startswith(prefix) and group_id in (None, group["id"])
    ]
    page = found[(page_num - 1) * page_size : page_num * page_size]
    items = [{**group, "user_info": dict(group["user_info"])} for group in page]
    return {"total": len(found), "items": items}


def _update(account, group_id, body):
    name, desc = _checked_fields(body, creating=False)
    group = _existing(account, group_id)
    if name is not None:
        group["name"] = name
    if desc is not None:
        group["desc"] = desc
    group["updated_at"] = int(time.time())
    account.save()
    return {}


def _delete(account, group_id):
    del account.groups[_existing(account, group_id)["id"]]
    account.save()
    return {}


def _existing(account, group_id):
    if group_id not in account.groups:
        raise Refusal(CODE_NOT_FOUND, f"voiceprint group not found: {group_id}")
    return account.groups[group_id]


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
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX):
        raise Refusal(CODE_INVALID, f"invalid parameter: name must be 1 to {NAME_MAX} characters")
    if desc is not None and (not isinstance(desc, str) or len(desc) > DESC_MAX):
        raise Refusal(
            CODE_INVALID, f"invalid parameter: desc must be {DESC_MAX} characters or fewer"
        )
    return name, desc


def _newest_first(group):
    return -group["created_at"], -int(group["id"])
