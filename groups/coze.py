"""Coze's voiceprint-group calls over HTTP: the only code in vpadmin that talks to Coze.

Every call either returns a CozeResponse or raises one of three CozeError kinds, each
carrying Coze's code, msg, HTTP status and logid where known.
"""

import logging
import time
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
USER_AGENT = f"vpadmin/{vpadmin.__version__} python-requests/{requests.__version__}"
# Errors raised before anything is sent: a bad COZE_API_BASE, or a token with a newline.
NOT_SENT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class CozeError(Exception):
    """A Coze call that did not succeed."""

    summary = "The Coze call failed"
    outcome = "error"

    def __init__(self, msg, *, code=None, http_status=None, logid="", duration_ms=0):
        super().__init__(msg)
        self.msg, self.code, self.http_status = msg, code, http_status
        self.logid, self.duration_ms = logid, duration_ms

    @property
    def rate_limited(self):
        """Coze asked us to slow down (HTTP 429, or its rate-limit code)."""
        return self.http_status == 429 or self.code == RATE_LIMIT_CODE

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


@dataclass(frozen=True)
class CozeResponse:
    data: dict
    logid: str
    http_status: int
    duration_ms: int


class _BearerToken(requests.auth.AuthBase):
    # An explicit auth object also stops requests from consulting ~/.netrc.
    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        if not (self.token.isascii() and self.token.isprintable()):
            # http.client would reject the header with the token in its message.
            raise requests.exceptions.InvalidHeader(
                "the token has characters a header cannot carry"
            )
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self):
        return "<Bearer token hidden>"


class CozeClient:
    """One Coze account: a base URL, a token and a timeout, over one keep-alive session."""

    def __init__(self, base_url: str, token: str, timeout: float):
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
    if isinstance(error, NOT_SENT):
        msg = "the request could not be made: check COZE_API_BASE and COZE_API_TOKEN"
        return CozeFailed(msg, duration_ms=duration_ms)
    if isinstance(error, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return CozeNoAnswer(f"no answer within {timeout:g} s", duration_ms=duration_ms)
    if isinstance(error, requests.ConnectTimeout):
        return CozeFailed(f"could not connect within {timeout:g} s", duration_ms=duration_ms)
    if isinstance(reason, NewConnectionError) or isinstance(
        error, requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return CozeFailed("could not connect to Coze", duration_ms=duration_ms)
    return CozeNoAnswer("the connection closed before an answer", duration_ms=duration_ms)


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
        code = int(envelope["code"]) if envelope else None
    except (TypeError, ValueError):
        envelope, code = None, None
    if envelope is None:
        msg = "the answer was not JSON" if body is None else "the answer was not a Coze envelope"
    else:
        msg = str(envelope.get("msg") or "") or "no message"
    if token:  # Coze's msg is shown to users: it must never echo our token back.
        msg = msg.replace(token, "<token>")

    if 400 <= status < 500:
        raise CozeRefused(msg, code=code, **known)
    if not 200 <= status < 300 or envelope is None:
        raise CozeFailed(msg, code=code, **known)
    if code != 0:
        raise CozeRefused(msg, code=code, **known)
    data = envelope.get("data") or {}
    if not isinstance(data, dict):
        raise CozeFailed("the answer's data was not an object", code=code, **known)
    return CozeResponse(data=data, logid=logid, http_status=status, duration_ms=duration_ms)


_client = None


def get_client() -> CozeClient:
    """The client for the configured Coze account, rebuilt when the settings change."""
    global _client
    wanted = (settings.COZE_API_BASE.rstrip("/"), settings.COZE_API_TOKEN, settings.COZE_TIMEOUT)
    client = _client
    if client is None or (client.base_url, client._auth.token, client.timeout) != wanted:
        client = _client = CozeClient(*wanted)
    return client
