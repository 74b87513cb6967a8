"""Coze's voiceprint-group calls, one method each, and the client for the configured account."""

from dataclasses import replace

from django.conf import settings

from .errors import CozeNoAnswer
from .transport import CozeResponse, Secret, Transport

GROUPS_PATH = "/v1/audio/voiceprint_groups"


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
    ) -> CozeResponse:
        """One page of the account's groups: data {"total", "items"}."""
        params = {"page_num": page_num, "page_size": page_size, "name": name, "group_id": group_id}
        params = {key: value for key, value in params.items() if value is not None}
        return self._transport.call("GET", GROUPS_PATH, retry_safe=True, params=params)

    def update_group(
        self, group_id: str, name: str | None = None, desc: str | None = None
    ) -> CozeResponse:
        """Change a group's name and/or desc (None leaves a field as it is)."""
        body = {key: value for key, value in (("name", name), ("desc", desc)) if value is not None}
        # The same change made twice leaves the group as once.
        return self._transport.call("PUT", f"{GROUPS_PATH}/{group_id}", retry_safe=True, json=body)

    def delete_group(self, group_id: str) -> CozeResponse:
        """Delete a group and the voiceprints in it."""
        # A second delete finds nothing to delete (4200), which callers take as done.
        return self._transport.call("DELETE", f"{GROUPS_PATH}/{group_id}", retry_safe=True)


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
