"""Fixtures for the server tests: real LocalServers over loopback HTTP, driven with httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from qianfan_chat.server import LocalServer

IAM_AK, IAM_SK = "iam-ak-0123456789", "iam-sk-0123456789"
CUSTOM = "my_service"
SEED = 1234
V2_KEY = "bce-v3/ALTAK-test0123456789abcdef/0123456789abcdef0123456789abcdef01234567"
V2_MODEL = "ernie-3.5-8k"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


class Api:
    """An httpx client bound to one server and one access token, with v1 helpers."""

    def __init__(self, server: LocalServer, client: httpx.Client, token: str) -> None:
        self.server = server
        self.client = client
        self.token = token

    def chat(
        self,
        body: Any,
        suffix: str = "eb-instant",
        *,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        params = kwargs.pop("params", {"access_token": token or self.token})
        if isinstance(body, bytes | str) or hasattr(body, "__next__"):
            kwargs["content"] = body
        else:
            kwargs["json"] = body
        return self.client.post(self.server.chat_url(suffix), params=params, **kwargs)

    def ask(self, text: str, suffix: str = "eb-instant", **fields: Any) -> dict[str, Any]:
        """One user message; the reply's JSON."""
        response = self.chat({"messages": user(text), **fields}, suffix)
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        return data

    def stream(self, body: Mapping[str, Any], suffix: str = "eb-instant") -> list[dict[str, Any]]:
        """The decoded events of a streamed reply (asserting it is SSE)."""
        with self.client.stream(
            "POST",
            self.server.chat_url(suffix),
            params={"access_token": self.token},
            json={**body, "stream": True},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            return sse_events(response.read())

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, self.server.url(f"/_admin/{path}"), json=body)

    def log(self) -> list[dict[str, Any]]:
        return self.server.requests()


class V2:
    """An httpx client bound to one server's v2 route and one bearer key, with helpers."""

    def __init__(self, server: LocalServer, client: httpx.Client, key: str = V2_KEY) -> None:
        self.server = server
        self.client = client
        self.key = key

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    def post(
        self, body: Any, *, key: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST ``body`` (JSON, or raw bytes/str) to ``/v2/chat/completions``."""
        sent = headers if headers is not None else self.headers(key)
        if isinstance(body, bytes | str):
            return self.client.post(self.server.v2_chat_url, content=body, headers=sent)
        return self.client.post(self.server.v2_chat_url, json=body, headers=sent)

    def ask(self, text: str, model: str = V2_MODEL, **fields: Any) -> dict[str, Any]:
        """One user message; the reply's JSON (asserting HTTP 200)."""
        response = self.post({"model": model, "messages": user(text), **fields})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def error(self, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        """``(status, error object)`` of a refused call, checking the v2 error shape."""
        response = self.post(body, **kwargs)
        data = response.json()
        assert response.status_code >= 400
        assert set(data) == {"error", "id"}
        assert set(data["error"]) == {"code", "message", "type"}
        assert data["id"].startswith("as-")
        return response.status_code, data["error"]

    def stream(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The chunks of a streamed reply, asserting SSE framing and the final ``[DONE]``."""
        with self.client.stream(
            "POST", self.server.v2_chat_url, headers=self.headers(), json={**body, "stream": True}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = response.read()
        assert raw.endswith(b"data: [DONE]\n\n")
        return sse_events(raw[: -len(b"data: [DONE]\n\n")])

    def log(self) -> list[dict[str, Any]]:
        return self.server.requests()


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """Events of an SSE body; each must be one ``data: {json}`` line and a blank line."""
    text = raw.decode()
    assert text.endswith("\n\n") or not text
    events = []
    for block in text.split("\n\n"):
        if block:
            assert block.startswith("data: ")
            events.append(json.loads(block[len("data: ") :]))
    return events


@pytest.fixture(scope="session")
def shared_server() -> Iterator[LocalServer]:
    with LocalServer(iam_keys={IAM_AK: IAM_SK}, custom_endpoints=[CUSTOM], seed=SEED) as server:
        yield server


@pytest.fixture
def server(shared_server: LocalServer) -> LocalServer:
    shared_server.reset()
    return shared_server


@pytest.fixture(scope="session")
def session_token(shared_server: LocalServer) -> str:
    return shared_server.issue_token("test-ak")


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def api(server: LocalServer, client: httpx.Client, session_token: str) -> Api:
    return Api(server, client, session_token)


@pytest.fixture
def v2(server: LocalServer, client: httpx.Client) -> V2:
    return V2(server, client)


@pytest.fixture
def serve_v2() -> Iterator[Any]:
    """Start a dedicated server for one test: ``serve_v2(**config)`` -> ``V2``."""
    started: list[tuple[LocalServer, httpx.Client]] = []

    def start(**config: Any) -> V2:
        server = LocalServer(**config).start()
        http = httpx.Client(timeout=10)
        started.append((server, http))
        return V2(server, http)

    yield start
    for server, http in started:
        http.close()
        server.stop()


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a dedicated server for one test: ``serve(**config)`` -> ``Api``."""
    started: list[tuple[LocalServer, httpx.Client]] = []

    def start(**config: Any) -> Api:
        server = LocalServer(**config).start()
        http = httpx.Client(timeout=10)
        started.append((server, http))
        return Api(server, http, server.issue_token("test-ak"))

    yield start
    for server, http in started:
        http.close()
        server.stop()
