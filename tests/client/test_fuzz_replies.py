"""Seeded fuzzing of reply shapes against the client (issue 13): whatever a broken or hostile
peer answers (any status, JSON of any shape, NaN, deep nesting, non-UTF-8 bytes, SSE events of
any shape, an error code of any type), a call either succeeds or raises a ``QianfanError``
subclass, and no credential appears in the exception text. Sync and async on every example.

``make test`` runs a small fixed number of examples (derandomized); ``make fuzz`` many more
(``QIANFAN_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qianfan_chat import ChatCompletion, QianfanError

from .hostile import HostileServer, response

EXAMPLES = int(os.environ.get("QIANFAN_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOKEN = "24.fuzzsecrettoken0123456789abcdef.2592000.1.2-3"
API_KEY = "bce-v3/ALTAK-fuzzsecretkey/0123456789abcdef"
PATHS = {1: "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/", 2: "/v2/chat/completions"}


def _deep(depth: int) -> bytes:
    # Written as bytes: json.dumps itself cannot nest this deep.
    return b'{"error_code": [' * depth + b"110" + b"]}" * depth


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["\ud800", "[DONE]", "110", "invalid_iam_token", "", "x" * 300]),
)
# Keys Qianfan replies use, so the shapes reach the code that reads them.
keys = st.sampled_from(
    [
        "error_code", "error_msg", "error", "code", "message", "result", "is_end", "usage",
        "choices", "delta", "content", "finish_reason", "index", "function_call", "id",
        "access_token", "expires_in", "token", "expireTime", "need_clear_history",
    ]
) | st.text(max_size=6)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=15,
)
statuses = st.sampled_from([200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 429, 500, 503])


def _json(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


deep = st.integers(min_value=100, max_value=3000).map(_deep)
bodies = values.map(_json) | deep | st.binary(max_size=100)
events = st.lists(
    values.map(_json) | deep | st.sampled_from([b"[DONE]", b": ping", b""]), max_size=6
)


def _sse(items: list[bytes]) -> bytes:
    return b"".join(b"data: " + item + b"\n\n" for item in items)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


def _client(hostile: HostileServer, version: int) -> ChatCompletion:
    if version == 1:
        return ChatCompletion(base_url=hostile.base_url, access_token=TOKEN, retry_count=0)
    return ChatCompletion(base_url=hostile.base_url, version=2, api_key=API_KEY, retry_count=0)


def _call(chat: ChatCompletion, stream: bool) -> None:
    messages = [{"role": "user", "content": "hi"}]
    if stream:
        with chat.do(messages, stream=True) as chunks:
            for _ in chunks:
                pass
    else:
        chat.do(messages)


async def _acall(chat: ChatCompletion, stream: bool) -> None:
    messages = [{"role": "user", "content": "hi"}]
    if stream:
        chunks = await chat.ado(messages, stream=True)
        async with chunks:
            async for _ in chunks:
                pass
    else:
        await chat.ado(messages)


def _inside_the_tree(chat: ChatCompletion, stream: bool) -> None:
    for run in (lambda: _call(chat, stream), lambda: asyncio.run(_acall(chat, stream))):
        try:
            run()
        except QianfanError as exc:  # anything else fails the example
            text = f"{exc} {exc!r}"
            assert TOKEN not in text
            assert API_KEY not in text


@FUZZ
@given(
    version=st.sampled_from([1, 2]),
    status=statuses,
    body=bodies,
    stream=st.booleans(),
    retry_after=st.sampled_from([None, "1e999", "-5", "NaN", "soon", "0"]),
)
def test_fuzz_json_replies_stay_in_the_error_tree(
    hostile: HostileServer,
    version: int,
    status: int,
    body: bytes,
    stream: bool,
    retry_after: str | None,
) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    hostile.script(PATHS[version], lambda: response(body, status=status, headers=headers))
    with _client(hostile, version) as chat:
        _inside_the_tree(chat, stream)


@FUZZ
@given(version=st.sampled_from([1, 2]), status=statuses, items=events)
def test_fuzz_stream_events_stay_in_the_error_tree(
    hostile: HostileServer, version: int, status: int, items: list[bytes]
) -> None:
    raw = _sse(items)
    hostile.script(
        PATHS[version],
        lambda: response(raw, status=status, content_type="text/event-stream"),
    )
    with _client(hostile, version) as chat:
        _inside_the_tree(chat, True)


@FUZZ
@given(status=statuses, body=bodies)
def test_fuzz_oauth_replies_stay_in_the_error_tree(
    hostile: HostileServer, status: int, body: bytes
) -> None:
    from qianfan_chat._auth import clear_token_cache

    clear_token_cache()
    hostile.script("/oauth/2.0/token", lambda: response(body, status=status))
    hostile.script(PATHS[1], lambda: response(b'{"result": "ok", "is_end": true}'))
    with ChatCompletion(
        base_url=hostile.base_url, ak="fuzz-ak", sk="fuzz-secret-sk", retry_count=0
    ) as chat:
        for run in (lambda: _call(chat, False), lambda: asyncio.run(_acall(chat, False))):
            try:
                run()
            except QianfanError as exc:
                assert "fuzz-secret-sk" not in f"{exc} {exc!r}"  # noqa: PT017
