"""Coze's voiceprint-group calls over HTTP: the only code in vpadmin that talks to Coze.

Every call either returns a CozeResponse or raises one of three CozeError kinds, each
carrying Coze's code, msg, HTTP status and logid where known.
"""

import logging
import time
import unicodedata
from dataclasses import dataclass, replace

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

import vpadmin

log = logging.getLogger("vpadmin.coze")

GROUPS_PATH = "/v1/audio/voiceprint_groups"
RATE_LIMIT_CODE = 4013  # Coze's "request rate limit exceeded"
NOT_FOUND_CODE = 4200  # "resource not found": a wrong id, or not this account's
USER_AGENT = f"vpadmin/{vpadmin.__version__} python-requests/{requests.__version__}"
# Errors raised before anything is sent: a bad COZE_API_BASE, or a token with a newline.
NOT_SENT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class CozeError(Exception):
    """A Coze call that did not succeed.

    `msg` is Coze's own message when Coze sent one; when the failure is ours to name (no
    answer, not JSON ...), `reason` is its code (groups.wording.COZE_REASONS) and `msg`
    the same in English, for logs.
    """

    summary = "The Coze call failed"
    outcome = "error"

    def __init__(
        self, msg, *, code=None, http_status=None, logid="", duration_ms=0, reason=None, **values
    ):
        super().__init__(msg)
        self.msg, self.code, self.http_status = msg, code, http_status
        self.logid, self.duration_ms = logid, duration_ms
        self.reason, self.values = reason, values

    @property
    def rate_limited(self):
        """Coze asked us to slow down (HTTP 429, or its rate-limit code)."""
        return self.http_status == 429 or self.code == RATE_LIMIT_CODE

    @property
    def not_found(self):
        """Coze does not know the group (or, Coze says, it is not this account's)."""
        return self.code == NOT_FOUND_CODE

    @property
    def coze_msg(self):
        """Coze's own message ("" when the failure was named by us)."""
        return "" if self.reason else self.msg

    def sentence(self):
        """Why, in the reader's language: our reason, or Coze's msg as Coze wrote it."""
        from .wording import coze_reason

        return coze_reason(self.reason, self.values.get("seconds")) if self.reason else self.msg

    def __str__(self):
        details = [f"code {self.code}"] if self.code is not None else []
        if self.http_status not in (None, 200):
            details.append(f"HTTP {self.http_status}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.summary}: {self.msg}{suffix}"


class CozeRefused(CozeError):
    """Coze answered and said no: a non-zero code, or an HTTP 4xx."""

    summary = "Coze refused the request"
    outcome = "refused"


class CozeFailed(CozeError):
    """The call failed: HTTP 5xx, an answer that is not Coze's JSON, or no connection."""

    summary = "The Coze call failed"
    outcome = "failed"


class CozeNoAnswer(CozeError):
    """The request was sent but no answer came back: Coze may or may not have acted."""

    summary = "Coze did not answer, so the change may or may not have been made"
    outcome = "no_answer"


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


class CozeClient:
    """One Coze account: a base URL, a token and a timeout, over one keep-alive session."""

    def __init__(self, base_url: str, token: "str | Secret", timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._auth = _BearerToken(token)
        self.session = requests.Session()
        self.session.auth = self._auth
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # Never retry: a create sent twice may make two groups.
        # read=False: a read error is raised as itself, not wrapped as "max retries".
        no_retries = Retry(total=0, read=False)
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=no_retries))

    def __repr__(self):
        return f"<CozeClient {self.base_url} timeout={self.timeout}s>"

    def create_group(self, name: str, desc: str = "") -> CozeResponse:
        """Create a group; data["id"] is its Coze id (a string of digits)."""
        body = {"name": name, "desc": desc} if desc else {"name": name}
        response = self._call("POST", GROUPS_PATH, json=body)
        if not response.data.get("id"):
            # Coze says it acted but not on what: only reconciliation can find the group.
            raise CozeNoAnswer(
                "the answer had no group id",
                reason="no_id",
                code=0,
                http_status=response.http_status,
                logid=response.logid,
                duration_ms=response.duration_ms,
            )
        return replace(response, data={**response.data, "id": str(response.data["id"])})

    def list_groups(
        self,
        page_num: int = 1,
        page_size: int = 200,
        name: str | None = None,
        group_id: str | None = None,
    ) -> CozeResponse:
        """One page of the account's groups: data {"total", "items"}."""
        params = {"page_num": page_num, "page_size": page_size, "name": name, "group_id": group_id}
        params = {key: value for key, value in params.items() if value is not None}
        return self._call("GET", GROUPS_PATH, params=params)

    def update_group(
        self, group_id: str, name: str | None = None, desc: str | None = None
    ) -> CozeResponse:
        """Change a group's name and/or desc (None leaves a field as it is)."""
        body = {key: value for key, value in (("name", name), ("desc", desc)) if value is not None}
        return self._call("PUT", f"{GROUPS_PATH}/{group_id}", json=body)

    def delete_group(self, group_id: str) -> CozeResponse:
        """Delete a group and the voiceprints in it."""
        return self._call("DELETE", f"{GROUPS_PATH}/{group_id}")

    def _call(self, method, path, **kwargs):
        started = time.monotonic()
        outcome, status, code, logid = "error", None, None, ""
        try:
            response = self._send(method, path, started, **kwargs)
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

    def _send(self, method, path, started, **kwargs):
        try:
            answer = self.session.request(
                method,
                self.base_url + path,
                timeout=self.timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as error:
            failure = _transport_error(error, self.timeout, _ms_since(started))
        else:
            return _parse(answer, _ms_since(started), self._auth.token)
        # Raised outside the except block, so no requests exception (whose request
        # object holds the Authorization header) is chained to the error.
        raise failure


def _ms_since(started):
    return round((time.monotonic() - started) * 1000)


def _transport_error(error, timeout, duration_ms):
    """Whether the request never reached Coze (CozeFailed) or its answer was lost."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    took = {"duration_ms": duration_ms}
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


def _parse(answer, duration_ms, token):
    """Turn an HTTP answer into a CozeResponse, or raise the matching CozeError."""
    status = answer.status_code
    try:
        body = answer.json()
    except ValueError:
        body = None
    envelope = body if isinstance(body, dict) and "code" in body else None
    detail = envelope.get("detail") if envelope else None
    body_logid = detail.get("logid") if isinstance(detail, dict) else None
    logid = answer.headers.get("x-tt-logid") or str(body_logid or "")
    known = {"http_status": status, "logid": logid, "duration_ms": duration_ms}

    try:
        code = _code(envelope["code"]) if envelope else None
    except (TypeError, ValueError, OverflowError):
        envelope, code = None, None
    reason = None
    if envelope is None:
        reason = "not_json" if body is None else "not_envelope"
        msg = "the answer was not JSON" if body is None else "the answer was not a Coze envelope"
    else:
        # Coze's msg is shown to users: it must never echo our token back, in any form.
        msg = redact(str(envelope.get("msg") or ""), token) or "no message"
    known["reason"] = reason

    if 400 <= status < 500:
        raise CozeRefused(msg, code=code, **known)
    if not 200 <= status < 300 or envelope is None:
        raise CozeFailed(msg, code=code, **known)
    if code != 0:
        raise CozeRefused(msg, code=code, **known)
    data = envelope.get("data") or {}
    if not isinstance(data, dict):
        known["reason"] = "bad_data"
        raise CozeFailed("the answer's data was not an object", code=code, **known)
    return CozeResponse(data=data, logid=logid, http_status=status, duration_ms=duration_ms)


def _code(value):
    """Coze's code: an integer of any size (a Long on Coze's side); 4000.0 counts as 4000."""
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    return int(value)


_client = None


def get_client() -> CozeClient:
    """The client for the configured Coze account, rebuilt when the settings change."""
    global _client
    client = _client
    # No local variable holds the token: a debug page lists every frame's locals.
    if (
        client is None
        or client.base_url != settings.COZE_API_BASE.rstrip("/")
        or client.timeout != settings.COZE_TIMEOUT
        or client._auth.token.reveal() != settings.COZE_API_TOKEN
    ):
        client = _client = CozeClient(
            settings.COZE_API_BASE, Secret(settings.COZE_API_TOKEN), settings.COZE_TIMEOUT
        )
    return client
