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
                user = getattr(request, "user", None)
                record.user = user.get_username() if user and user.is_authenticated else ""
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
