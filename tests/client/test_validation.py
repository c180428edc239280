"""Every rule the client can check is enforced before the network: one InvalidRequestError
naming the field and the rule, and nothing reaches the server."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat import ChatCompletion, InvalidRequestError, UnknownModelError
from qianfan_chat.server import LocalServer

from .conftest import Caller, chat_requests, token_requests

U = {"role": "user", "content": "hi"}
A = {"role": "assistant", "content": "hello"}
FN = {"name": "get_weather", "description": "weather", "parameters": {"type": "object"}}

# (id, messages, params, field named in the error, Baidu code the server would answer)
INVALID: list[tuple[str, Any, dict[str, Any], str, int]] = [
    ("no-messages", [], {}, "messages", 336003),
    ("messages-not-list", "hi", {}, "messages", 336003),
    ("even-count", [U, A], {}, "messages", 336006),
    ("odd-index-not-assistant", [U, U, U], {}, "messages[1].role", 336006),
    ("even-index-assistant", [A, A, U], {}, "messages[0].role", 336006),
    ("empty-content", [{"role": "user", "content": ""}], {}, "messages[0].content", 336003),
    ("missing-content", [{"role": "user"}], {}, "messages[0].content", 336003),
    ("content-not-str", [{"role": "user", "content": 5}], {}, "messages[0].content", 336003),
    (
        "function-without-name",
        [
            U,
            {"role": "assistant", "content": "", "function_call": {"name": "f"}},
            {"role": "function", "content": "{}"},
        ],
        {},
        "messages[2].name",
        336003,
    ),
    (
        "blank-function-call-name",
        [U, {"role": "assistant", "content": "", "function_call": {"name": " "}}, U],
        {},
        "messages[1].function_call.name",
        336003,
    ),
    ("temperature-zero", [U], {"temperature": 0}, "temperature", 336003),
    ("temperature-high", [U], {"temperature": 1.5}, "temperature", 336003),
    ("temperature-str", [U], {"temperature": "hot"}, "temperature", 336003),
    ("top-p-negative", [U], {"top_p": -0.1}, "top_p", 336003),
    ("top-p-high", [U], {"top_p": 1.01}, "top_p", 336003),
    ("penalty-low", [U], {"penalty_score": 0.5}, "penalty_score", 336003),
    ("penalty-high", [U], {"penalty_score": 2.5}, "penalty_score", 336003),
    ("stop-too-many", [U], {"stop": ["a", "b", "c", "d", "e"]}, "stop", 336003),
    ("stop-too-long", [U], {"stop": ["x" * 21]}, "stop[0]", 336003),
    ("stop-not-list", [U], {"stop": "END"}, "stop", 336003),
    ("system-too-long", [U], {"system": "s" * 1025}, "system", 336003),
    ("system-with-functions", [U], {"system": "persona", "functions": [FN]}, "system", 336003),
    ("blank-function-name", [U], {"functions": [{**FN, "name": ""}]}, "functions[0].name", 336003),
    ("max-output-tokens-zero", [U], {"max_output_tokens": 0}, "max_output_tokens", 336003),
    ("disable-search-not-bool", [U], {"disable_search": "yes"}, "disable_search", 336003),
]


@pytest.mark.parametrize(
    ("messages", "params", "field", "code"),
    [pytest.param(*row[1:], id=row[0]) for row in INVALID],
)
async def test_invalid_request_rejected_before_network(
    caller: Caller,
    client: ChatCompletion,
    server: LocalServer,
    messages: Any,
    params: dict[str, Any],
    field: str,
    code: int,
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(client, messages, **params)
    assert info.value.field == field
    assert info.value.error_code == code
    assert field in str(info.value)
    assert info.value.rule
    assert info.value.rule in str(info.value)
    assert chat_requests(server) == []
    assert token_requests(server) == []


@pytest.mark.parametrize(
    "row", [pytest.param(row, id=row[0]) for row in INVALID if row[0] != "messages-not-list"]
)
async def test_server_agrees_with_client_rules(
    server: LocalServer, row: tuple[str, Any, dict[str, Any], str, int]
) -> None:
    """The same bodies sent raw get the same Baidu code from the local server: the rules are
    written once and both sides read them."""
    import httpx

    _, messages, params, _, code = row
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        token = (
            await http.post(
                "/oauth/2.0/token",
                params={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
            )
        ).json()["access_token"]
        reply = await http.post(
            "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions",
            params={"access_token": token},
            json={"messages": messages, **params},
        )
    assert reply.json()["error_code"] == code


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("ERNIE-Bot-5", "ERNIE-Bot"), ("llama-2-7b", "Llama-2-7B-Chat"), ("ernie-speed", None)],
)
def test_model_names(name: str, suggestion: str | None) -> None:
    if suggestion is None:  # a real name, any case: resolves
        assert ChatCompletion(model=name, ak="a", sk="b").model == name
        return
    with pytest.raises(UnknownModelError) as info:
        ChatCompletion(model=name, ak="a", sk="b")
    assert suggestion in info.value.suggestions
    assert suggestion in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [("retry_count", -1), ("request_timeout", 0), ("backoff_factor", -1.0)],
)
async def test_bad_call_options(
    caller: Caller, client: ChatCompletion, server: LocalServer, option: str, value: float
) -> None:
    with pytest.raises(InvalidRequestError, match=option):
        await caller.do(client, [U], **{option: value})
    assert chat_requests(server) == []
