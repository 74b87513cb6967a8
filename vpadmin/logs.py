"""Structured log lines: one per request and one per Coze call, as `key=value` text or
JSON lines (LOG_FORMAT=json), each carrying the request id and user of the request."""

import json
import logging
from contextvars import ContextVar

# The request being served (set by RequestIdMiddleware): its id, and its user once known.
current_request = ContextVar("current_request", default=None)

# The fields a line may carry, in this order; anything else passed in `extra` is ignored.
FIELDS = [
    "event",
    "request_id",
    "user",
    "method",
    "path",
    "action",
    "outcome",
    "status",
    "http_status",
    "code",
    "logid",
    "duration_ms",
]


class RequestContextFilter(logging.Filter):
    """Adds the current request's id and user to every record (when there is one)."""

    def filter(self, record):
        request = current_request.get()
        if request is not None:
            if not getattr(record, "request_id", None):
                record.request_id = getattr(request, "request_id", "")
            if not getattr(record, "user", None):
                record.user = known_username(request)
        return True


def known_username(request):
    """The request's user if it is known already, else "". Never looks it up: reading
    `request.user` loads the session, and the session logs (a corrupted cookie), so a log
    line would start the lookup it is part of, again and again."""
    user = request.__dict__.get("_cached_user")  # set by AuthenticationMiddleware's lookup
    return user.get_username() if user is not None and user.is_authenticated else ""


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refusal the client caused (403, 404, 400: status below 500) is one line: Django logs
    PermissionDenied and SuspiciousOperation with their traceback, which says nothing more."""

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


def _fields(record):
    values = {name: getattr(record, name, None) for name in FIELDS}
    return {name: value for name, value in values.items() if value not in (None, "")}


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value ...`, values quoted when they contain spaces."""

    def format(self, record):
        line = super().format(record)
        pairs = " ".join(f"{name}={_quoted(value)}" for name, value in _fields(record).items())
        return f"{line} {pairs}" if pairs else line


def _quoted(value):
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False) if (not text or " " in text or '"' in text) else text
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record):
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
