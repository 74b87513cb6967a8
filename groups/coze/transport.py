"""HTTP to Coze: the session, Bearer auth, reading the envelope, logging and redaction."""

import logging
import time
import unicodedata
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

import vpadmin

from .errors import CozeError, CozeFailed, CozeNoAnswer, CozeRefused

log = logging.getLogger("vpadmin.coze")

USER_AGENT = f"vpadmin/{vpadmin.__version__} python-requests/{requests.__version__}"
# Errors raised before anything is sent: a bad COZE_API_BASE, or a token with a newline.
NOT_SENT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class Secret:
    """The token, which never shows itself: its repr and str hide it, so a debug page's
    local variables, a log line or an error message cannot print it."""

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    def reveal(self):
        return self._value

    def __repr__(self):
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self):
        return hash(self._value)


def redact(text, secret):
    """`text` with every appearance of the secret replaced by <token>: matched ignoring
    case, width (full-width forms) and invisible or blank characters put inside it."""
    wanted = _folded(secret.reveal() if isinstance(secret, Secret) else secret)
    if len(wanted) < 4 or not text:
        return text
    folded, where = [], []  # the folded text, and each folded character's original index
    for index, char in enumerate(text):
        if _invisible(char):
            continue
        for piece in _folded(char):
            folded.append(piece)
            where.append(index)
    haystack, spans, start = "".join(folded), [], 0
    while (found := haystack.find(wanted, start)) >= 0:
        spans.append((where[found], where[found + len(wanted) - 1] + 1))
        start = found + len(wanted)
    for begin, end in reversed(spans):
        text = text[:begin] + "<token>" + text[end:]
    return text


def _folded(text):
    return unicodedata.normalize("NFKC", text).casefold()


def _invisible(char):
    return char.isspace() or unicodedata.category(char) in ("Cf", "Cc", "Mn", "Zs")


@dataclass(frozen=True)
class CozeResponse:
    data: dict
    logid: str
    http_status: int
    duration_ms: int


class _BearerToken(requests.auth.AuthBase):
    # An explicit auth object also stops requests from consulting ~/.netrc.
    def __init__(self, token):
        self.token = Secret(token)

    def __call__(self, request):
        if not (self.token.reveal().isascii() and self.token.reveal().isprintable()):
            # http.client would reject the header with the token in its message.
            raise requests.exceptions.InvalidHeader(
                "the token has characters a header cannot carry"
            )
        request.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        return request

    def __repr__(self):
        return "<Bearer token hidden>"


class Transport:
    """A base URL, a token and a timeout over one keep-alive session; never retries."""

    def __init__(self, base_url: str, token: "str | Secret", timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.auth = _BearerToken(token)
        self.session = requests.Session()
        self.session.auth = self.auth
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # Never retry: a create sent twice may make two groups.
        # read=False: a read error is raised as itself, not wrapped as "max retries".
        no_retries = Retry(total=0, read=False)
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=no_retries))

    def call(self, method, path, *, retry_safe, **kwargs) -> CozeResponse:
        """Send one request; its answer's data, or the CozeError it amounts to.

        `retry_safe`: whether the request may be sent again without harm; its error says so.
        """
        started = time.monotonic()
        outcome, status, code, logid = "error", None, None, ""
        try:
            response = self._send(method, path, started, retry_safe, **kwargs)
            outcome, status, code, logid = "success", response.http_status, 0, response.logid
            return response
        except CozeError as error:
            outcome, status, code, logid = error.outcome, error.http_status, error.code, error.logid
            raise
        finally:
            log.info(
                "coze call",
                extra={
                    "event": "coze",
                    "method": method,
                    "path": path,
                    "outcome": outcome,
                    "http_status": status,
                    "code": code,
                    "logid": logid,
                    "duration_ms": _ms_since(started),
                },
            )

    def _send(self, method, path, started, retry_safe, **kwargs):
        try:
            answer = self.session.request(
                method,
                self.base_url + path,
                timeout=self.timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as error:
            failure = _transport_error(error, self.timeout, _ms_since(started), retry_safe)
        else:
            return _parse(answer, _ms_since(started), self.auth.token, retry_safe)
        # Raised outside the except block, so no requests exception (whose request
        # object holds the Authorization header) is chained to the error.
        raise failure


def _ms_since(started):
    return round((time.monotonic() - started) * 1000)


def _transport_error(error, timeout, duration_ms, retry_safe):
    """Whether the request never reached Coze (CozeFailed) or its answer was lost."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    took = {"duration_ms": duration_ms, "retry_safe": retry_safe}
    if isinstance(error, NOT_SENT):
        msg = "the request could not be made: check COZE_API_BASE and COZE_API_TOKEN"
        return CozeFailed(msg, reason="not_sent", **took)
    if isinstance(error, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        msg = f"no answer within {timeout:g} s"
        return CozeNoAnswer(msg, reason="timeout", seconds=timeout, **took)
    if isinstance(error, requests.ConnectTimeout):
        msg = f"could not connect within {timeout:g} s"
        return CozeFailed(msg, reason="connect_timeout", seconds=timeout, **took)
    if isinstance(reason, NewConnectionError) or isinstance(
        error, requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return CozeFailed("could not connect to Coze", reason="connect_failed", **took)
    return CozeNoAnswer("the connection closed before an answer", reason="closed", **took)


def _parse(answer, duration_ms, token, retry_safe):
    """Turn an HTTP answer into a CozeResponse, or raise the matching CozeError."""
    status = answer.status_code
    try:
        body = answer.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    body_logid = detail.get("logid") if isinstance(detail, dict) else None
    logid = answer.headers.get("x-tt-logid") or str(body_logid or "")
    known = {
        "http_status": status,
        "logid": logid,
        "duration_ms": duration_ms,
        "retry_safe": retry_safe,
    }

    envelope = _envelope(body)
    if envelope is None and (error := _error_body(body, token)):
        # Always a failure: Coze's answer without an envelope, saying why in its own words.
        refused = 200 <= status < 300 or 400 <= status < 500
        raise (CozeRefused if refused else CozeFailed)(error[1], code=error[0], **known)
    if envelope is None:
        known["reason"] = "not_json" if body is None else "not_envelope"
        msg = "the answer was not JSON" if body is None else "the answer was not a Coze envelope"
        raise (CozeRefused if 400 <= status < 500 else CozeFailed)(msg, **known)
    code = envelope["code"]
    # Coze's msg is shown to users: it must never echo our token back, in any form.
    msg = redact(str(envelope.get("msg") or ""), token) or "no message"
    if 400 <= status < 500:
        raise CozeRefused(msg, code=code, **known)
    if not 200 <= status < 300:
        raise CozeFailed(msg, code=code, **known)
    if code != 0:
        raise CozeRefused(msg, code=code, **known)
    # Update and delete answers have no data key at all; others may send null.
    data = envelope.get("data") or {}
    if not isinstance(data, dict):
        known["reason"] = "bad_data"
        raise CozeFailed("the answer's data was not an object", code=code, **known)
    return CozeResponse(data=data, logid=logid, http_status=status, duration_ms=duration_ms)


def _envelope(body):
    """Coze's envelope {"code", "msg", "data", "detail"} with `code` read as an int; None
    when the body is not one."""
    if not isinstance(body, dict) or "code" not in body:
        return None
    try:
        return {**body, "code": _code(body["code"])}
    except (TypeError, ValueError, OverflowError):
        return None


def _error_body(body, token):
    """(code or None, msg) of a body shaped {"error_code", "error_message"}, as some of
    Coze's answers are (cozepy reads them on every call); None for any other body."""
    if not isinstance(body, dict) or not {"error_code", "error_message"} & set(body):
        return None
    error_code, msg = body.get("error_code"), str(body.get("error_message") or "")
    try:
        code = _code(error_code)
    except (TypeError, ValueError, OverflowError):
        code = None
        if isinstance(error_code, str) and error_code:  # a word ("invalid_token") says why too
            msg = f"{error_code}: {msg}" if msg else error_code
    if not msg and not code:
        return None
    return code or None, redact(msg, token) or "no message"


def _code(value):
    """Coze's code: an integer of any size (a Long on Coze's side); 4000.0 counts as 4000."""
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    return int(value)
