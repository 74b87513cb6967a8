"""Coze's calls, one method each (groups and their voiceprints: create, list, update,
delete; speaker identification; users/me)."""

import math
import re
from dataclasses import replace

from django.conf import settings

from .errors import CozeFailed, CozeNoAnswer
from .transport import CozeResponse, Secret, Transport

GROUPS_PATH = "/v1/audio/voiceprint_groups"
USERS_ME_PATH = "/v1/users/me"
# Coze's ids are strings of ASCII digits (str.isdigit() would also pass "²" or "١").
COZE_ID = re.compile(r"[0-9]+")


class CozeClient:
    """One Coze account: a base URL, a token and a timeout, over one keep-alive session."""

    def __init__(self, base_url: str, token: "str | Secret", timeout: float):
        self._transport = Transport(base_url, token, timeout)

    @property
    def base_url(self):
        return self._transport.base_url

    @property
    def timeout(self):
        return self._transport.timeout

    @property
    def session(self):
        return self._transport.session

    def __repr__(self):
        return f"<CozeClient {self.base_url} timeout={self.timeout}s>"

    def create_group(self, name: str, desc: str = "") -> CozeResponse:
        """Create a group; data["id"] is its Coze id (a string of digits)."""
        body = {"name": name, "desc": desc} if desc else {"name": name}
        # Never sent twice: a lost answer may hide a group Coze made.
        response = self._transport.call("POST", GROUPS_PATH, retry_safe=False, json=body)
        return _with_new_id(response, "group")

    def list_groups(
        self,
        page_num: int = 1,
        page_size: int = 200,
        name: str | None = None,
        group_id: str | None = None,
        user_id: str | None = None,
    ) -> CozeResponse:
        """One page of the team's groups: data {"total", "items"}. `name` is a name
        prefix; `user_id` (only the token's own, see me()) keeps the groups that user made."""
        params = {
            "page_num": page_num,
            "page_size": page_size,
            "name": name,
            "group_id": group_id,
            "user_id": user_id,
        }
        params = {key: value for key, value in params.items() if value is not None}
        return self._transport.call("GET", GROUPS_PATH, retry_safe=True, params=params)

    def update_group(
        self, group_id: str, name: str | None = None, desc: str | None = None
    ) -> CozeResponse:
        """Change a group's name and/or desc (None leaves a field as it is); Coze's answer
        has no data. Only the group's creator may change it."""
        path = _group_path(group_id)
        body = {key: value for key, value in (("name", name), ("desc", desc)) if value is not None}
        # The same change made twice leaves the group as once.
        return self._transport.call("PUT", path, retry_safe=True, json=body)

    def delete_group(self, group_id: str) -> CozeResponse:
        """Delete a group and the voiceprints in it; Coze's answer has no data. Only the
        group's creator may delete it."""
        path = _group_path(group_id)
        # A second delete finds nothing to delete (4200), which callers take as done.
        return self._transport.call("DELETE", path, retry_safe=True)

    def create_voiceprint(
        self,
        group_id: str,
        name: str,
        audio: bytes,
        *,
        desc: str | None = None,
        sample_rate: int | None = None,
        channel: int | None = None,
        filename: str = "voiceprint.wav",
    ) -> CozeResponse:
        """Enroll a voiceprint in a group from `audio` (WAV, or PCM 16 kHz mono 16-bit with
        `sample_rate` and `channel`); data["id"] is its Coze id (a string of digits)."""
        path = _features_path(group_id)
        files = _form(name=name, desc=desc, sample_rate=sample_rate, channel=channel)
        files["file"] = (filename, audio, "application/octet-stream")
        # Never sent twice: a lost answer may hide a voiceprint Coze made.
        response = self._transport.call("POST", path, retry_safe=False, files=files)
        return _with_new_id(response, "voiceprint")

    def list_voiceprints(
        self, group_id: str, page_num: int = 1, page_size: int = 200
    ) -> CozeResponse:
        """One page of a group's voiceprints: data {"total", "items"} (no has_more)."""
        params = {"page_num": page_num, "page_size": page_size}
        return self._transport.call("GET", _features_path(group_id), retry_safe=True, params=params)

    def update_voiceprint(
        self,
        group_id: str,
        feature_id: str,
        *,
        name: str | None = None,
        desc: str | None = None,
        audio: bytes | None = None,
        sample_rate: int | None = None,
        channel: int | None = None,
        filename: str = "voiceprint.wav",
    ) -> CozeResponse:
        """Rename a voiceprint or re-enroll it with new `audio` (None leaves a field as it
        is); Coze's answer has no data. Only the voiceprint's creator may change it."""
        path = _feature_path(group_id, feature_id)
        files = _form(name=name, desc=desc, sample_rate=sample_rate, channel=channel)
        if audio is not None:
            files["file"] = (filename, audio, "application/octet-stream")
        # Multipart even without a file, as Coze wants (cozepy's fix #272): requests sends
        # text parts given as (None, value) as form-data.
        # The same change made twice leaves the voiceprint as once.
        return self._transport.call("PUT", path, retry_safe=True, files=files)

    def delete_voiceprint(self, group_id: str, feature_id: str) -> CozeResponse:
        """Delete a voiceprint; Coze's answer has no data. Only its creator may delete it."""
        path = _feature_path(group_id, feature_id)
        # A second delete finds nothing to delete (4200), which callers take as done.
        return self._transport.call("DELETE", path, retry_safe=True)

    def identify(
        self,
        group_id: str,
        audio: bytes,
        *,
        top_k: int | None = None,
        sample_rate: int | None = None,
        channel: int | None = None,
        filename: str = "clip.wav",
    ) -> CozeResponse:
        """Score a clip (WAV, or PCM 16 kHz mono 16-bit with `sample_rate` and `channel`)
        against the group's voiceprints, the `top_k` best only when given: data
        {"feature_score_list": [{"feature_id", "feature_name", "feature_desc", "score"}]},
        best first, each score from 0 to 100 (higher is closer)."""
        path = f"{_group_path(group_id)}/speaker_identify"
        files = _form(top_k=top_k, sample_rate=sample_rate, channel=channel)
        files["file"] = (filename, audio, "application/octet-stream")
        # Never sent twice: Coze bills every identification, and a lost answer may hide one
        # it made and billed. Whether to pay for another is the asker's call, not ours.
        response = self._transport.call("POST", path, retry_safe=False, files=files)
        return _with_scores(response)

    def me(self) -> CozeResponse:
        """Who the token belongs to: data {"user_id", "user_name", "nick_name",
        "avatar_url"}; user_id (as a string) is what a group's user_info.id names."""
        response = self._transport.call("GET", USERS_ME_PATH, retry_safe=True)
        user_id = response.data.get("user_id")
        if user_id is None or isinstance(user_id, str):
            return response
        return replace(response, data={**response.data, "user_id": str(user_id)})


def _group_path(group_id):
    """The path of one group; CozeFailed, before anything is sent, for an id that is not
    Coze's (a string of digits), which could otherwise reach another path."""
    return f"{GROUPS_PATH}/{_checked_id(group_id, 'group')}"


def _features_path(group_id):
    return f"{_group_path(group_id)}/features"


def _feature_path(group_id, feature_id):
    return f"{_features_path(group_id)}/{_checked_id(feature_id, 'voiceprint')}"


def _checked_id(value, what):
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not COZE_ID.fullmatch(value):
        reason = "bad_id" if what == "group" else f"bad_{what}_id"
        raise CozeFailed(f"the {what} id is not a Coze id, so nothing was sent", reason=reason)
    return value


def _form(**fields):
    """Multipart text parts for the fields given (None leaves one out): every value is
    sent as text, as Coze documents the form (and cozepy must be used)."""
    return {key: (None, str(value)) for key, value in fields.items() if value is not None}


def _with_new_id(response, what):
    """A create's answer with data["id"] as a string; CozeNoAnswer when it has no id."""
    if not response.data.get("id"):
        # Coze says it acted but not on what: only reconciliation can find the new item.
        raise CozeNoAnswer(
            f"the answer had no {what} id",
            reason="no_id" if what == "group" else f"no_{what}_id",
            code=0,
            http_status=response.http_status,
            logid=response.logid,
            duration_ms=response.duration_ms,
        )
    return replace(response, data={**response.data, "id": str(response.data["id"])})


def _with_scores(response):
    """An identification's answer with its feature_score_list as a list of dicts, best
    first: feature_id as a string, score as a float, feature_name and feature_desc as
    strings. CozeFailed when the answer is not in that shape."""
    try:
        # [inf] Coze does not document its answer for an empty group: no list (or null)
        # is taken as no voiceprints, as well as an empty one.
        scores = [_feature_score(item) for item in _listed(response.data)]
    except (TypeError, ValueError, OverflowError):
        raise CozeFailed(
            "the identification answer was not in Coze's shape",
            reason="bad_scores",
            code=0,
            http_status=response.http_status,
            logid=response.logid,
            duration_ms=response.duration_ms,
        ) from None
    # Coze does not document the order: sorted here, ties kept in Coze's order.
    scores.sort(key=lambda item: item["score"], reverse=True)
    return replace(response, data={**response.data, "feature_score_list": scores})


def _listed(data):
    listed = data.get("feature_score_list")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise TypeError("feature_score_list is not a list")
    return listed


def _feature_score(item):
    """One score of an identification, checked; TypeError, ValueError or OverflowError
    when it is not in Coze's shape."""
    if not isinstance(item, dict):
        raise TypeError("a score is not an object")
    feature_id, score = item.get("feature_id"), item.get("score")
    if isinstance(feature_id, bool) or not isinstance(feature_id, str | int):
        raise TypeError("feature_id is not an id")
    if isinstance(score, bool) or not isinstance(score, int | float | str):
        raise TypeError("score is not a number")
    score = float(score)
    if not math.isfinite(score):
        raise ValueError("score is not a finite number")
    name, desc = (item.get(key) for key in ("feature_name", "feature_desc"))
    name, desc = "" if name is None else name, "" if desc is None else desc
    if not isinstance(name, str) or not isinstance(desc, str) or not str(feature_id):
        raise TypeError("feature_name, feature_desc or feature_id is not text")
    return {
        **item,
        "feature_id": str(feature_id),
        "feature_name": name,
        "feature_desc": desc,
        "score": score,
    }


_clients = {}


def get_client(account=None) -> CozeClient:
    """The client of a configured Coze account (a name or a CozeAccount row; None: the
    default account), rebuilt when the settings change. CozeFailed (reason
    "not_configured"), before anything is sent, for an account no longer configured."""
    from .accounts import DEFAULT, configured

    name = getattr(account, "name", account) or DEFAULT
    config = configured().get(name)
    if config is None:
        raise CozeFailed(
            f"the Coze account {name!r} is not configured, so nothing was sent",
            reason="not_configured",
        )
    client = _clients.get(name)
    # No local variable holds the token: a debug page lists every frame's locals.
    if (
        client is None
        or client.base_url != config["base"].rstrip("/")
        or client.timeout != settings.COZE_TIMEOUT
        or client._transport.auth.token.reveal() != config["token"]
    ):
        client = _clients[name] = CozeClient(
            config["base"], Secret(config["token"]), settings.COZE_TIMEOUT
        )
    return client
