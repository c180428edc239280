"""LangChain's standard integration tests for :class:`QianfanChatEndpoint` on the **v2**
(OpenAI-compatible) API, over loopback HTTP against the local Qianfan server's
``/v2/chat/completions`` route, with every capability v2 has switched on: tool calling, tool
choice (``"any"`` sent as ``"required"``, a name sent as a named choice), structured output
(``function_calling``, and ``json_schema`` in a second class that reruns the suite with
that method), JSON mode, usage metadata (streaming usage from the ``include_usage`` chunk),
Anthropic-style inputs, model override and the VCR stream benchmark. The skipped tests are the
inputs v2 chat does not take here (images, audio, PDF).

TEST DATA: the server has no model behind it. Where a test needs an answer only a real model
would choose (which tool to call, with which arguments, a joke, JSON text), it comes from
:data:`SCRIPTED_REPLIES` below, matched on the last message of the test's own prompt (read in
``langchain_tests/integration_tests/chat_models.py``); everything else gets the server's
deterministic defaults. On v2 the ``tool_choice`` binds the rules (a forced function skips the
rules that script text), so a joke is scripted twice, as JSON text first (``json_schema``,
``json_mode``) and as a ``Joke`` call after it (``function_calling``).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from qianfan_chat.langchain import QianfanChatEndpoint
from qianfan_chat.server import LocalServer, ServerConfig

MODEL = "ernie-3.5-8k"  # calls functions, takes tool_choice and response_format
OVERRIDE_MODEL = "ernie-4.0-8k"
API_KEY = "bce-v3/ALTAK-lcstandard0000000000/0123456789abcdef0123456789abcdef01234567"
JOKE = {
    "setup": "Why was the cat sitting on the computer?",
    "punchline": "To keep an eye on the mouse!",
}
SETUP_ONLY = {"setup": "Why don't cats play poker in the jungle?"}


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


# TEST DATA: scripted model replies, first match wins (see the module docstring).
SCRIPTED_REPLIES: list[dict[str, Any]] = [
    # test_json_mode: the JSON a model writes when asked for these two keys.
    {
        "contains": "Return the result as a JSON with 'setup' and 'punchline' keys",
        "text": _json(JOKE),
    },
    # test_structured_output*: a joke as JSON text (json_schema), then as the forced Joke call
    # (function_calling; a forced function skips the text rule above it).
    {"contains": "no punchline", "text": _json(SETUP_ONLY)},
    {"contains": "no punchline", "tool_calls": [{"name": "Joke", "arguments": SETUP_ONLY}]},
    {"contains": "joke about cats", "text": _json(JOKE)},
    {
        # The forced function (Joke, or JokeDict for the TypedDict schema) picks its call.
        "contains": "joke about cats",
        "tool_calls": [
            {"name": "Joke", "arguments": JOKE},
            {"name": "JokeDict", "arguments": JOKE},
        ],
    },
    # test_tool_calling(_async): the argument is read from the question.
    {
        "contains": "magic_function(3)",
        "tool_calls": [{"name": "magic_function", "arguments": {"input": 3}}],
    },
    # test_tool_choice: asked ("required" / named magic_function) to call a tool on "Hello!".
    {"regex": r"^Hello!$", "tool_calls": [{"name": "magic_function", "arguments": {"input": 3}}]},
    # test_bind_runnables_as_tools
    {
        "contains": "generate a Pirate greeting",
        "tool_calls": [{"name": "greeting_generator", "arguments": {"answer_style": "pirate"}}],
    },
    # test_agent_loop: the first turn calls the tool; the second answers from its result.
    {
        "contains": "weather in San Francisco",
        "role": "user",
        "tool_calls": [{"name": "get_weather", "arguments": {"location": "San Francisco, CA"}}],
    },
    # test_unicode_tool_call_integration
    {
        "contains": "你好啊集团",
        "tool_calls": [
            {
                "name": "unicode_customer",
                "arguments": {"customer_name": "你好啊集团", "description": "一家中国科技公司"},
            }
        ],
    },
    {
        "contains": "こんにちは株式会社",
        "tool_calls": [
            {
                "name": "unicode_customer",
                "arguments": {"customer_name": "こんにちは株式会社", "description": "日本の会社"},
            }
        ],
    },
    # test_structured_few_shot_examples
    {
        "regex": r"^What is 3 \+ 4$",
        "tool_calls": [{"name": "my_adder_tool", "arguments": {"a": 3, "b": 4}}],
    },
]

_base_url: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def local_server() -> Any:
    with LocalServer(ServerConfig(rules=SCRIPTED_REPLIES)) as server:
        _base_url["url"] = server.base_url
        yield server
        paths = {r["path"] for r in server.requests()}
        assert paths <= {"/v2/chat/completions"}, f"not all on v2: {paths}"


class TestQianfanChatEndpointV2Integration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[QianfanChatEndpoint]:
        return QianfanChatEndpoint

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # The v2 key alone selects v2 (api_version is left to be chosen).
        return {"model": MODEL, "base_url": _base_url["url"], "api_key": API_KEY}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        # Text, tool_use and thinking blocks are accepted (text / tool calls).
        return True

    @property
    def enable_vcr_tests(self) -> bool:
        # test_stream_time replays a stream recorded from the local server (cassettes/).
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL

    def test_api_version_is_v2(self, model: BaseChatModel) -> None:
        assert isinstance(model, QianfanChatEndpoint)
        assert model.resolved_api_version == "v2"


class TestQianfanChatEndpointV2JsonSchemaIntegration(TestQianfanChatEndpointV2Integration):
    """The same suite with ``with_structured_output(method="json_schema")``: v2's native
    ``response_format={"type": "json_schema", ...}`` (the suite forbids overriding its tests, so
    the second method gets the whole suite again rather than its structured-output tests
    alone)."""

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "json_schema"}
