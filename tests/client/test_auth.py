"""Each auth path: OAuth AK/SK (single-flight), a ready token, IAM signing, none, environment."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from qianfan_chat import AuthenticationError, ChatCompletion, CredentialsError
from qianfan_chat.server import LocalServer

from .conftest import AK, IAM_AK, IAM_SK, SK, Caller, chat_requests, token_requests, user


async def test_ready_access_token_used_as_is(caller: Caller, server: LocalServer) -> None:
    import httpx

    token = httpx.post(
        server.base_url + "/oauth/2.0/token",
        params={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    ).json()["access_token"]
    server.clear_requests()
    with ChatCompletion(base_url=server.base_url, access_token=token) as chat:
        resp = await caller.do(chat, user("hi"))
    assert resp["result"]
    assert token_requests(server) == []
    assert chat_requests(server)[0]["query"]["access_token"] == token


async def test_iam_keys_sign_every_request(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(base_url=server.base_url, access_key=IAM_AK, secret_key=IAM_SK) as chat:
        await caller.do(chat, user("hi"))
        await caller.do(chat, user("again"))
    sent = chat_requests(server)
    assert len(sent) == 2
    assert token_requests(server) == []
    for request in sent:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["authorization"].startswith(f"bce-auth-v1/{IAM_AK}/")
        assert "x-bce-date" in headers
        assert "access_token" not in request["query"]


async def test_iam_wrong_secret_is_error_14(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(base_url=server.base_url, access_key=IAM_AK, secret_key="wrong") as chat:
        with pytest.raises(AuthenticationError) as info:
            await caller.do(chat, user("hi"))
    assert info.value.error_code == 14


async def test_oauth_rejected_keys(caller: Caller) -> None:
    with LocalServer(ak_sk={"good-ak": "good-sk"}) as strict:
        with ChatCompletion(base_url=strict.base_url, ak="good-ak", sk="bad-sk") as chat:
            with pytest.raises(AuthenticationError) as info:
                await caller.do(chat, user("hi"))
        assert info.value.error_code == "invalid_client"
        assert "Client authentication failed" in str(info.value)
        assert "bad-sk" not in str(info.value)
        with ChatCompletion(base_url=strict.base_url, ak="good-ak", sk="good-sk") as chat:
            assert (await caller.do(chat, user("hi")))["result"]


async def test_no_credentials_is_a_clear_error_at_first_call(
    caller: Caller, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "QIANFAN_AK",
        "QIANFAN_SK",
        "QIANFAN_ACCESS_TOKEN",
        "QIANFAN_ACCESS_KEY",
        "QIANFAN_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    chat = ChatCompletion(base_url=server.base_url)  # constructing is fine
    with pytest.raises(CredentialsError) as info:
        await caller.do(chat, user("hi"))
    assert "QIANFAN_AK" in str(info.value)
    assert "QIANFAN_ACCESS_KEY" in str(info.value)
    assert server.requests() == []


async def test_environment_read_when_the_client_is_made(
    caller: Caller, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QIANFAN_AK", "env-ak")
    monkeypatch.setenv("QIANFAN_SK", "env-sk")
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)
    monkeypatch.setenv("QIANFAN_LLM_API_RETRY_COUNT", "0")
    chat = ChatCompletion()
    assert chat.base_url == server.base_url
    assert chat.retry_count == 0
    await caller.do(chat, user("hi"))
    (token_request,) = token_requests(server)
    assert token_request["query"]["client_id"] == "env-ak"


def test_single_flight_token_fetch_threads(server: LocalServer) -> None:
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            chat.do(user("hi"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chat.close()
    assert errors == []
    assert len(token_requests(server)) == 1
    assert len(chat_requests(server)) == 50


async def test_single_flight_token_fetch_tasks(server: LocalServer) -> None:
    async with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        results: list[Any] = await asyncio.gather(*(chat.ado(user("hi")) for _ in range(50)))
    assert all(r["result"] for r in results)
    assert len(token_requests(server)) == 1
    assert len(chat_requests(server)) == 50


async def test_token_shared_across_clients(caller: Caller, server: LocalServer) -> None:
    for _ in range(3):
        with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
            await caller.do(chat, user("hi"))
    assert len(token_requests(server)) == 1


async def test_token_refreshed_before_it_expires(caller: Caller) -> None:
    # A 2 s token is refreshed 10 % ahead of expiry; after that it is never presented.
    with LocalServer(token_lifetime=2) as short:
        with ChatCompletion(base_url=short.base_url, ak=AK, sk=SK) as chat:
            await caller.do(chat, user("hi"))
            await asyncio.sleep(1.9)
            await caller.do(chat, user("hi"))
        assert len([r for r in short.requests() if r["path"] == "/oauth/2.0/token"]) == 2
        assert all(r.get("error_code") is None for r in short.requests())
