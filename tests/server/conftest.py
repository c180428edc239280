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
