"""Fixtures for the client tests: a local Qianfan server over loopback HTTP, and a ``caller``
that runs each behaviour on the sync and the async path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from qianfan_chat import ChatCompletion, QfResponse
from qianfan_chat._auth import clear_token_cache
from qianfan_chat.server import LocalServer

AK, SK = "test-ak", "test-sk"
IAM_AK, IAM_SK = "iam-access-key-0001", "iam-secret-key-0001"


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    with LocalServer(
        iam_keys={IAM_AK: IAM_SK},
        custom_endpoints=["my-endpoint"],
        seed=7,
    ) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: LocalServer) -> Iterator[None]:
    server.reset()
    clear_token_cache()
    return


@pytest.fixture
def client(server: LocalServer) -> Iterator[ChatCompletion]:
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, backoff_factor=0) as chat:
        yield chat


def chat_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if "/chat/" in r["path"]]


def token_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["path"] == "/oauth/2.0/token"]


class Caller:
    """Runs a client call on one path: ``sync`` (``do``) or ``async`` (``ado``)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def do(self, client: ChatCompletion, *args: Any, **kwargs: Any) -> QfResponse:
        if self.mode == "sync":
            # Run off the event loop thread, as a sync user would: from a plain thread.
            return await asyncio.to_thread(client.do, *args, **kwargs)
        return await client.ado(*args, **kwargs)

    async def stream(self, client: ChatCompletion, *args: Any, **kwargs: Any) -> list[QfResponse]:
        if self.mode == "sync":

            def run() -> list[QfResponse]:
                with client.do(*args, stream=True, **kwargs) as s:
                    return list(s)

            return await asyncio.to_thread(run)
        stream = await client.ado(*args, stream=True, **kwargs)
        async with stream:
            return [chunk async for chunk in stream]

    async def batch(self, client: ChatCompletion, *args: Any, **kwargs: Any) -> list[Any]:
        if self.mode == "sync":
            return await asyncio.to_thread(lambda: client.batch_do(*args, **kwargs).results())
        return await client.abatch_do(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def caller(request: pytest.FixtureRequest) -> Caller:
    return Caller(request.param)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
