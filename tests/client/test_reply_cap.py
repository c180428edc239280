"""A whole (non-stream) reply is read with a cap (issue 13, item 7): a peer announcing or
sending more than ``MAX_REPLY_BYTES`` gets a typed error, not the client's memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qianfan_chat import APIError, ChatCompletion
from qianfan_chat import _client as client_module

from .conftest import Caller
from .hostile import HostileServer, response

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


def chat(server: HostileServer) -> ChatCompletion:
    return ChatCompletion(access_token="tok", base_url=server.base_url, retry_count=0)


@pytest.mark.parametrize(
    ("body", "length"),
    [
        pytest.param(b'{"result": "x"}', 5 * 1024**3, id="announced-5-GB"),
        pytest.param([b'{"result": "', b"x" * 4096, b'"}'], None, id="counted-past-the-cap"),
    ],
)
async def test_a_reply_past_the_cap_is_an_api_error(
    caller: Caller,
    hostile: HostileServer,
    monkeypatch: pytest.MonkeyPatch,
    body: bytes | list[bytes],
    length: int | None,
) -> None:
    monkeypatch.setattr(client_module, "MAX_REPLY_BYTES", 1024)
    hostile.script("/", lambda: response(body, length=length))
    with pytest.raises(APIError, match="larger than the client's cap"):
        await caller.do(chat(hostile), USER)


async def test_a_reply_under_the_cap_is_read(
    caller: Caller, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_REPLY_BYTES", 1024)
    hostile.script("/", lambda: response([b'{"result": "', b"x" * 100, b'"}']))
    assert (await caller.do(chat(hostile), USER))["result"] == "x" * 100
