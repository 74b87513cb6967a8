"""A stand-in for Coze's voiceprint-group API on a real socket, standard library only.

It speaks Coze's wire format (Bearer check, limits, envelope, `x-tt-logid`, quota) and
injects the faults a client must survive. It accepts exactly one token; faults apply only
to requests that pass the Bearer check, so a wrong token always gets the 4100 answer.
A small control API under `/_sim/` (no token, never recorded) drives it from another
process: GET /_sim/state, POST /_sim/faults, DELETE /_sim/faults, POST /_sim/reset,
POST /_sim/seed {"count": N}, POST /_sim/quota {"quota": N}. Every fault takes `method`,
`times` and `after` (requests let through before it applies), e.g.
{"kind": "http", "method": "GET", "after": 2} fails the third list call.
"""

import contextlib
import json
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger("vpadmin.cozesim")

GROUPS_PATH = "/v1/audio/voiceprint_groups"
NAME_MAX, DESC_MAX, PAGE_SIZE_MAX = 20, 500, 200
JSON_TYPE = "application/json; charset=utf-8"

CODE_INVALID = 4000  # Coze's "invalid parameter"
CODE_NO_SUCH_API = 4004
CODE_RATE_LIMITED = 4013  # Coze's rate limit
CODE_AUTH = 4100  # Coze's "authentication is invalid"
CODE_QUOTA = 4118
CODE_NOT_FOUND = 4200
CODE_INTERNAL = 5000

FAULT_DEFAULTS = {
    "code": {"status": 200, "code": CODE_RATE_LIMITED, "msg": "request rate limit exceeded"},
    "http": {"status": 500, "code": CODE_INTERNAL, "msg": "internal server error"},
    "nonjson": {"status": 502},
    "delay": {"seconds": 15.0},
    "drop": {"perform": True},
}
GATEWAY_PAGE = (
    "<html><head><title>{status} {phrase}</title></head><body>"
    "<center><h1>{status} {phrase}</h1></center><hr><center>gateway</center></body></html>"
)
CREATOR = {"id": "7484523878849822754", "name": "simulator", "nickname": "Coze simulator"}


class _Refusal(Exception):
    def __init__(self, code, msg, status=200):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def new_logid():
    """A fresh logid in Coze's shape: a timestamp and 16 hex digits."""
    return time.strftime("%Y%m%d%H%M%S") + f"{random.getrandbits(64):016X}"


def _envelope(status, code, msg, data=None):
    logid = new_logid()
    payload = {"code": code, "msg": msg}
    if data is not None:
        payload["data"] = data
    payload["detail"] = {"logid": logid}
    return status, json.dumps(payload, ensure_ascii=False).encode(), JSON_TYPE, logid


class CozeSimulator:
    """Coze's voiceprint-group calls for one account and one accepted token.

    `groups` maps id to the item as the list call returns it; tests may change an item
    there (or use edit_group) to play a change made on Coze's console. `requests` has one
    record per API request: method, path, query, json (parsed body or None), user_agent,
    authorized, connection (a number per TCP connection) and the logid answered.
    """

    def __init__(self, token: str, quota: int = 1000, state_file: str | Path | None = None):
        self._token, self._initial_quota = token, quota
        self._state_file = Path(state_file) if state_file else None
        self._lock = threading.RLock()
        self._server = self._thread = None
        self._open_sockets = set()
        self._connections = 0
        self._generation = 0  # bumped by reset()
        self._last_id = 7_500_000_000_000_000_000 + random.randrange(10**15)
        self.url = ""
        self.quota = quota
        self.groups: dict[str, dict] = {}
        self.requests: list[dict] = []
        self._faults: list[dict] = []
        self._load()

    # Serving

    def start(self, host="127.0.0.1", port=0) -> "CozeSimulator":
        """Serve in a daemon thread (port 0: any free port); `url` says where."""
        self._bind(host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, host, port, *, on_ready=None) -> None:
        """Serve in this thread until interrupted; `on_ready(url)` is called once bound."""
        self._bind(host, port)
        if on_ready:
            on_ready(self.url)
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._close()
            self._thread.join(timeout=5)
            self._thread = None

    def _bind(self, host, port):
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"

    def _close(self):
        self._server.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # State and faults

    def reset(self) -> None:
        """Forget all groups, requests and faults; the quota returns to its first value.

        A request still sleeping in a delay fault is then dropped, not applied.
        """
        with self._lock:
            self.groups.clear()
            self.requests.clear()
            self._faults.clear()
            self.quota = self._initial_quota
            self._generation += 1
            self._save()

    def add_fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        times: int | None = 1,
        after: int = 0,
        **params,
    ):
        """Queue a fault for the next `times` API requests (None: until cleared), after
        letting `after` of them through untouched.

        Faults are a queue: a request is taken by the first fault that matches its method,
        whether that fault applies or is still letting requests through.
        """
        if kind not in FAULT_DEFAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_DEFAULTS)}")
        defaults = FAULT_DEFAULTS[kind]
        for name, value in params.items():
            if name not in defaults:
                raise ValueError(f"fault {kind!r} takes {', '.join(defaults) or 'no parameters'}")
            expected = (int, float) if isinstance(defaults[name], float) else type(defaults[name])
            if not isinstance(value, expected):
                raise ValueError(f"fault parameter {name!r} has the wrong type")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive number or None")
        if method is not None and not isinstance(method, str):
            raise ValueError("method must be an HTTP method name or None")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after must be a number of requests (0 or more)")
        fault = {"kind": kind, "method": method and method.upper(), "times": times}
        if after:  # listed only while requests are still to be let through
            fault["after"] = after
        with self._lock:
            self._faults.append({**fault, **defaults, **params})

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def seed_groups(
        self, count: int, *, name_prefix="remote group", desc="", created_at=None
    ) -> list[str]:
        """Add `count` groups as if made elsewhere (Coze's console, another tool), named
        "<prefix> <n>"; `created_at` (Unix seconds or a datetime) sets Coze's time of
        creation, else they are one second apart, the last one now."""
        if isinstance(created_at, datetime):
            created_at = int(created_at.timestamp())
        now = int(time.time())
        with self._lock:
            first = len(self.groups) + 1
            ids = []
            for n in range(first, first + count):
                suffix = f" {n}"
                name = name_prefix[: NAME_MAX - len(suffix)] + suffix
                stamp = created_at if created_at is not None else now - count + n - first + 1
                ids.append(self._add_group(name, desc, stamp)["id"])
            self._save()
        return ids

    def edit_group(self, group_id: str, **changes) -> dict:
        """Change a group as Coze's console would: name, desc, feature_count, created_at or
        updated_at (Unix seconds). updated_at becomes now unless given. Returns the item."""
        allowed = {"name", "desc", "feature_count", "created_at", "updated_at"}
        if not changes or not set(changes) <= allowed:
            raise ValueError(f"edit_group changes {', '.join(sorted(allowed))}")
        with self._lock:
            group = self.groups[group_id]
            group.update({"updated_at": int(time.time()), **changes})
            self._save()
            return dict(group)

    def state(self) -> dict:
        with self._lock:
            return {
                "groups": len(self.groups),
                "quota": self.quota,
                "faults": [dict(fault) for fault in self._faults],
                "requests": len(self.requests),
            }

    def _take_fault(self, method):
        for fault in self._faults:
            if fault["method"] in (None, method):
                if fault.get("after"):
                    fault["after"] -= 1
                    if not fault["after"]:
                        del fault["after"]
                    return None
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self._faults.remove(fault)
                return dict(fault)
        return None

    def _load(self):
        if self._state_file and self._state_file.exists():
            saved = json.loads(self._state_file.read_text(encoding="utf-8"))
            self.groups.update((group["id"], group) for group in saved.get("groups", []))
            self._last_id = max([self._last_id, *map(int, self.groups)])

    def _save(self):
        if not self._state_file:
            return
        payload = json.dumps({"groups": list(self.groups.values())}, ensure_ascii=False, indent=1)
        # Write beside the target and rename, so a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self._state_file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
            os.replace(tmp, self._state_file)
        except BaseException:
            os.unlink(tmp)
            raise

    # The API

    def _answer(self, handler, method, path, query, raw):
        """The (status, body, content type, logid) for one API request; None to drop it."""
        body = _json_or_none(raw)
        authorized = handler.headers.get("Authorization", "") == f"Bearer {self._token}"
        record = {
            "method": method,
            "path": path,
            "query": query,
            "json": body,
            "user_agent": handler.headers.get("User-Agent", ""),
            "authorized": authorized,
            "connection": handler.connection_number,
            "logid": "",
        }
        with self._lock:
            self.requests.append(record)
            fault = self._take_fault(method) if authorized else None
            generation = self._generation
        answer = self._respond(authorized, fault, method, path, query, body, raw, generation)
        record["logid"] = answer[3] if answer else ""
        return answer

    def _respond(self, authorized, fault, method, path, query, body, raw, generation):
        if not authorized:
            msg = "authentication is invalid: the access token is missing, wrong or expired"
            return _envelope(401, CODE_AUTH, msg)
        kind = fault and fault["kind"]
        if kind in ("code", "http"):
            return _envelope(fault["status"], fault["code"], fault["msg"])
        if kind == "nonjson":
            page = GATEWAY_PAGE.format(status=fault["status"], phrase=_phrase(fault["status"]))
            return fault["status"], page.encode(), "text/html; charset=utf-8", new_logid()
        if kind == "delay":
            time.sleep(fault["seconds"])
            if generation != self._generation:
                return None  # reset while sleeping: this request belongs to a finished test
        if kind == "drop":
            if fault["perform"]:
                self._route(method, path, query, body, raw)
            return None
        return _envelope(*self._route(method, path, query, body, raw))

    def _route(self, method, path, query, body, raw):
        """Do the call: (HTTP status, code, msg, data)."""
        parent, _, group_id = path.rpartition("/")
        group_id = group_id if parent == GROUPS_PATH else ""
        try:
            if raw and body is None:
                raise _Refusal(CODE_INVALID, "invalid parameter: the body is not valid JSON")
            with self._lock:
                if path == GROUPS_PATH and method == "POST":
                    return 200, 0, "", self._create(body)
                if path == GROUPS_PATH and method == "GET":
                    return 200, 0, "", self._list(query)
                if group_id and method == "PUT":
                    return 200, 0, "", self._update(group_id, body)
                if group_id and method == "DELETE":
                    return 200, 0, "", self._delete(group_id)
            raise _Refusal(CODE_NO_SUCH_API, f"no such API: {method} {path}", status=404)
        except _Refusal as refusal:
            return refusal.status, refusal.code, refusal.msg, None

    def _create(self, body):
        name, desc = _checked_fields(body, creating=True)
        if len(self.groups) >= self.quota:
            raise _Refusal(
                CODE_QUOTA,
                f"voiceprint group quota exceeded: this account may hold at most {self.quota} "
                "groups; delete one or upgrade to the enterprise edition",
            )
        group = self._add_group(name, desc or "", int(time.time()))
        self._save()
        return {"id": group["id"]}

    def _list(self, query):
        page_num, page_size = _int_param(query, "page_num", 1), _int_param(query, "page_size", 10)
        if page_num < 1:
            raise _Refusal(CODE_INVALID, "invalid parameter: page_num must be at least 1")
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            raise _Refusal(CODE_INVALID, "invalid parameter: page_size must be from 1 to 200")
        prefix, group_id = query.get("name", ""), query.get("group_id")
        found = [
            group
            for group in sorted(self.groups.values(), key=_newest_first)
            if group["name"].startswith(prefix) and group_id in (None, group["id"])
        ]
        page = found[(page_num - 1) * page_size : page_num * page_size]
        items = [{**group, "user_info": dict(group["user_info"])} for group in page]
        return {"total": len(found), "items": items}

    def _update(self, group_id, body):
        name, desc = _checked_fields(body, creating=False)
        group = self._existing(group_id)
        if name is not None:
            group["name"] = name
        if desc is not None:
            group["desc"] = desc
        group["updated_at"] = int(time.time())
        self._save()
        return {}

    def _delete(self, group_id):
        del self.groups[self._existing(group_id)["id"]]
        self._save()
        return {}

    def _existing(self, group_id):
        if group_id not in self.groups:
            raise _Refusal(CODE_NOT_FOUND, f"voiceprint group not found: {group_id}")
        return self.groups[group_id]

    def _add_group(self, name, desc, created_at):
        # Snowflake-like: 19 digits, growing with time, never reused.
        self._last_id += random.randint(1, 4096)
        group = {
            "id": str(self._last_id),
            "name": name,
            "desc": desc,
            "icon_url": "",
            "feature_count": 0,
            "created_at": created_at,
            "updated_at": created_at,
            "user_info": {**CREATOR, "avatar_url": ""},
        }
        self.groups[group["id"]] = group
        return group

    # The control API

    def _control(self, method, path, raw):
        """Answer a /_sim/ request: (HTTP status, JSON payload)."""
        body = _json_or_none(raw)
        body = body if isinstance(body, dict) else {}
        try:
            if (method, path) == ("GET", "/_sim/state"):
                pass
            elif (method, path) == ("POST", "/_sim/faults"):
                self.add_fault(**body)
            elif (method, path) == ("DELETE", "/_sim/faults"):
                self.clear_faults()
            elif (method, path) == ("POST", "/_sim/reset"):
                self.reset()
            elif (method, path) == ("POST", "/_sim/seed"):
                count = body.get("count", 0)
                if not isinstance(count, int) or count < 0:
                    raise ValueError("count must be a number of groups")
                prefix = body.get("name_prefix", "remote group")
                ids = self.seed_groups(count, name_prefix=prefix)
                return 200, {**self.state(), "ids": ids}
            elif (method, path) == ("POST", "/_sim/quota"):
                quota = body.get("quota")
                if not isinstance(quota, int) or quota < 0:
                    raise ValueError("quota must be a number of groups")
                self.quota = quota
            else:
                return 404, {"error": f"no such control call: {method} {path}"}
        except (TypeError, ValueError) as error:
            return 400, {"error": str(error)}
        return 200, self.state()


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_or_none(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _int_param(query, name, default):
    try:
        return int(query.get(name, default))
    except ValueError:
        raise _Refusal(CODE_INVALID, f"invalid parameter: {name} must be a number") from None


def _checked_fields(body, *, creating):
    """The (name, desc) of a create or update body, checked against Coze's limits."""
    if not isinstance(body, dict):
        raise _Refusal(CODE_INVALID, "invalid parameter: the body must be a JSON object")
    name, desc = body.get("name"), body.get("desc")
    if creating and name is None:
        raise _Refusal(CODE_INVALID, "invalid parameter: name is required")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX):
        raise _Refusal(CODE_INVALID, f"invalid parameter: name must be 1 to {NAME_MAX} characters")
    if desc is not None and (not isinstance(desc, str) or len(desc) > DESC_MAX):
        raise _Refusal(
            CODE_INVALID, f"invalid parameter: desc must be {DESC_MAX} characters or fewer"
        )
    return name, desc


def _newest_first(group):
    return -group["created_at"], -int(group["id"])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sim):
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, dropped connection) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Coze's gateway does
    server_version = "CozeSimulator"
    disable_nagle_algorithm = True  # else each small answer waits ~40 ms for a delayed ACK

    def setup(self):
        super().setup()
        sim = self.server.sim
        with sim._lock:
            sim._connections += 1
            self.connection_number = sim._connections
            sim._open_sockets.add(self.connection)

    def finish(self):
        with self.server.sim._lock:
            self.server.sim._open_sockets.discard(self.connection)
        super().finish()

    def do_GET(self):
        url = urlsplit(self.path)
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        sim = self.server.sim
        if url.path.startswith("/_sim/"):
            status, payload = sim._control(self.command, url.path, raw)
            self._send(status, json.dumps(payload).encode(), JSON_TYPE, None)
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        answer = sim._answer(self, self.command, url.path, query, raw)
        if answer is None:  # the "drop" fault: close without a word
            self.close_connection = True
            return
        self._send(*answer)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _send(self, status, body, content_type, logid):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if logid:
            self.send_header("x-tt-logid", logid)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        log.info("%s " + format, self.address_string(), *args)
