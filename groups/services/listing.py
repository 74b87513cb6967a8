"""Reading Coze's paged lists (groups, a group's voiceprints) the same way: a page retried
while Coze rate-limits us, an answer not in Coze's shape told as a failure, and Coze's
texts and times as the register stores them."""

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from django.conf import settings

from .. import coze

log = logging.getLogger("vpadmin.sync")

PAGE_SIZE = 200  # Coze's largest


class PageFailed(Exception):
    """A list call failed (after its retries): the error, and the page it was for."""

    def __init__(self, error: coze.CozeError, page: int, calls: int = 1):
        super().__init__(str(error))
        self.error, self.page, self.calls = error, page, calls


def read_page(call, read, page):
    """One page: `call()` makes the list call, `read(data)` turns its data into (total,
    items), raising ValueError, KeyError or TypeError when it is not in Coze's shape.
    Retried with growing pauses while Coze rate-limits us (listing changes nothing on
    Coze, so a retry is safe). Returns (answer with data {"total", "items"}, calls made);
    raises PageFailed."""
    calls = 0
    while True:
        calls += 1
        try:
            answer = call()
            total, items = _content(answer, read)
        except coze.CozeError as error:
            if not error.worth_retrying or calls > settings.COZE_LIST_RETRIES:
                raise PageFailed(error, page, calls) from None
            pause = settings.COZE_LIST_BACKOFF * 2 ** (calls - 1)
            log.warning("Coze rate-limits the list call (page %d); retry in %.1f s", page, pause)
            time.sleep(pause)
        else:
            return replace(answer, data={"total": total, "items": items}), calls


def _content(answer, read):
    try:
        return read(answer.data)
    except (TypeError, ValueError, KeyError):
        raise coze.CozeFailed(
            "the list answer was not in Coze's shape",
            reason="bad_list",
            code=0,
            http_status=answer.http_status,
            logid=answer.logid,
            duration_ms=answer.duration_ms,
        ) from None


def total_and_items(data, item):
    """(total, [item(each)]) of a list answer's data; ValueError when not Coze's shape."""
    total, items = data.get("total"), data.get("items") or []
    if isinstance(total, bool) or not isinstance(items, list):
        raise ValueError("not a list answer")
    return max(0, int(total)), [item(each) for each in items]


def text(value, limit):
    # As the database stores it: PostgreSQL refuses NUL characters and longer values.
    return str(value or "").replace("\x00", "\ufffd")[:limit]


MILLISECONDS_FROM = 10**11  # Unix seconds reach this in the year 5138: larger is in ms


def moment(unix_time):
    """Coze's time: Unix seconds, or (as some of Coze's examples show) milliseconds."""
    try:
        value = int(unix_time)
        if abs(value) >= MILLISECONDS_FROM:
            value //= 1000
        return datetime.fromtimestamp(value, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
