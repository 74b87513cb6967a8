"""The faults the simulator injects: a queue of them, each checked when it is added."""

import json
from http import HTTPStatus

from .api import CODE_INTERNAL, CODE_INVALID, CODE_RATE_LIMITED, JSON_TYPE, envelope, new_logid

# A fault plays an answer Coze may give; its defaults are the simulator's choices [inf]
# (Coze documents no HTTP status for its errors), each parameter can be set when queued.
FAULT_DEFAULTS = {
    # Coze's error-code page gives 4009's msg in Chinese only ("the system's request
    # ceiling is reached, retry later"); the live answer's wording is not documented.
    "code": {"status": 200, "code": CODE_RATE_LIMITED, "msg": "已达系统请求上限，请稍后重试"},
    "http": {"status": 500, "code": CODE_INTERNAL, "msg": "internal server error"},
    "nonjson": {"status": 502},
    # Any body: by default the {"error_code", "error_message"} shape some Coze answers take
    # instead of the envelope (cozepy reads it on every call).
    "raw": {
        "status": 400,
        "body": json.dumps({"error_code": CODE_INVALID, "error_message": "invalid parameter"}),
        "content_type": JSON_TYPE,
    },
    "delay": {"seconds": 15.0},
    "drop": {"perform": True},
}
GATEWAY_PAGE = (
    "<html><head><title>{status} {phrase}</title></head><body>"
    "<center><h1>{status} {phrase}</h1></center><hr><center>gateway</center></body></html>"
)


class Faults:
    """Faults waiting for API requests, in the order they were added.

    A request is taken by the first fault that matches its method and path, whether that
    fault applies or is still letting requests through. Not thread-safe by itself.
    """

    def __init__(self):
        self._queue: list[dict] = []

    def add(self, kind, *, method=None, path=None, times=1, after=0, **params):
        """Queue a fault (see CozeSimulator.add_fault); ValueError names what is wrong."""
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
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError("path must be a request path (starting with /) or None")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after must be a number of requests (0 or more)")
        fault = {"kind": kind, "method": method and method.upper(), "times": times}
        if path is not None:  # listed only when the fault is for one path
            fault["path"] = path
        if after:  # listed only while requests are still to be let through
            fault["after"] = after
        self._queue.append({**fault, **defaults, **params})

    def clear(self):
        self._queue.clear()

    def listed(self):
        """The waiting faults, as copies."""
        return [dict(fault) for fault in self._queue]

    def take(self, method, path):
        """The fault that applies to a request of `method` on `path` (a copy), or None."""
        for fault in self._queue:
            if fault["method"] in (None, method) and fault.get("path") in (None, path):
                if fault.get("after"):
                    fault["after"] -= 1
                    if not fault["after"]:
                        del fault["after"]
                    return None
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self._queue.remove(fault)
                return dict(fault)
        return None


def fault_answer(fault):
    """The answer of a fault that answers at once (code, http, nonjson, raw), else None."""
    kind = fault["kind"]
    if kind in ("code", "http"):
        return envelope(fault["status"], fault["code"], fault["msg"])
    if kind == "nonjson":
        page = GATEWAY_PAGE.format(status=fault["status"], phrase=_phrase(fault["status"]))
        return fault["status"], page.encode(), "text/html; charset=utf-8", new_logid()
    if kind == "raw":
        return fault["status"], fault["body"].encode(), fault["content_type"], new_logid()
    return None


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
