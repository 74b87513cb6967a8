"""Coze's calls, one method each (groups create, list, update, delete; users/me)."""

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
    if isinstance(group_id, int) and not isinstance(group_id, bool):
        group_id = str(group_id)
    if not isinstance(group_id, str) or not COZE_ID.fullmatch(group_id):
        raise CozeFailed("the group id is not a Coze id, so nothing was sent", reason="bad_id")
    return f"{GROUPS_PATH}/{group_id}"


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
        or client._transport.auth.token.reveal() != settings.COZE_API_TOKEN
    ):
        client = _client = CozeClient(
            settings.COZE_API_BASE, Secret(settings.COZE_API_TOKEN), settings.COZE_TIMEOUT
        )
    return client
