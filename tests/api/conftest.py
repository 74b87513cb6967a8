"""The API's tests: people in roles with API tokens, and a client that sends them."""

import functools
import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from groups.services import tokens

from .. import factories


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttling counts in the cache, per user id, which the next test's people reuse."""
    cache.clear()
    yield
    cache.clear()


class Api:
    """A script calling the API with a token."""

    def __init__(self, token, **headers):
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", **headers)

    def call(self, method, path, body=None, **headers):
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        data = json.dumps(body) if body is not None else None
        send = getattr(self.client, method.lower())
        if data is None:
            return send(path, **extra)
        return send(path, data, content_type="application/json", **extra)

    def get(self, path, **headers):
        return self.call("GET", path, **headers)

    def post(self, path, body=None, **headers):
        return self.call("POST", path, body if body is not None else {}, **headers)

    def patch(self, path, body, **headers):
        return self.call("PATCH", path, body, **headers)

    def put(self, path, body, **headers):
        return self.call("PUT", path, body, **headers)

    def delete(self, path, **headers):
        return self.call("DELETE", path, **headers)

    def upload(self, method, path, fields, **headers):
        """A multipart/form-data request, as a script uploads a file (`fields` may hold
        django.core.files.uploadedfile.SimpleUploadedFile)."""
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        if method == "POST":  # the test client encodes a POST's fields itself
            return self.client.post(path, fields, **extra)
        body = encode_multipart(BOUNDARY, fields)
        return self.client.generic(method, path, body, content_type=MULTIPART_CONTENT, **extra)


def api_for(user, read_only=False, **headers):
    _, secret = tokens.create_token(factories.actor(user), user, name="script", read_only=read_only)
    return Api(secret, **headers)


@pytest.fixture
def operator_api(operator):
    return api_for(operator)


@pytest.fixture
def administrator_api(administrator):
    return api_for(administrator)


@pytest.fixture
def viewer_api(viewer):
    return api_for(viewer)


COMMITTED_SCHEMA = Path(__file__).resolve().parents[2] / "groups" / "api" / "openapi.yaml"


@functools.cache
def committed_schema():
    import schemathesis

    return schemathesis.openapi.from_path(COMMITTED_SCHEMA)


def assert_documented(response, method, path):
    """`response` (the test client's) is what groups/api/openapi.yaml documents for the
    operation `method path` (e.g. "GET", "/api/people/{id}/"): a documented status code,
    content type and body; schemathesis's FailureGroup says where it is not."""
    import requests
    import schemathesis

    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=True,
    )
    committed_schema()[path][method].validate_response(answer)
