"""LangChain's standard integration tests for :class:`QianfanChatEndpoint`, over loopback HTTP
against the local Qianfan server (``qianfan_chat.server``), with every capability the v1 API
has switched on: tool calling, tool choice, structured output, JSON mode, usage metadata and
model override. The skipped tests are the inputs v1 chat does not take (images, audio, PDF,
Anthropic-style blocks are accepted).

TEST DATA: the server has no model behind it. Where a test needs an answer only a real model
would choose (which tool to call, with which arguments, or JSON text), it comes from
:data:`SCRIPTED_REPLIES` below, matched on the last message of the test's own prompt (read in
``langchain_tests/integration_tests/chat_models.py``); everything else gets the server's
deterministic defaults (a greeting answers a greeting, a forced function gets arguments made
from its schema, a function result is acknowledged).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from qianfan_chat.langchain import QianfanChatEndpoint
from qianfan_chat.server import LocalServer, ServerConfig

MODEL = "ERNIE-3.5-8K"  # takes functions, tool_choice, response_format, system, stop
OVERRIDE_MODEL = "ERNIE-4.0-8K"

# TEST DATA: scripted model replies, first match wins (see the module docstring).
SCRIPTED_REPLIES: list[dict[str, Any]] = [
    # test_json_mode: the JSON a model writes when asked for these two keys.
    {
        "contains": "Return the result as a JSON with 'setup' and 'punchline' keys",
        "text": '{"setup": "Why was the cat sitting on the computer?", '
        '"punchline": "To keep an eye on the mouse!"}',
    },
    # test_tool_calling(_async): the argument is read from the question.
    {
        "contains": "magic_function(3)",
        "function_call": {"name": "magic_function", "arguments": {"input": 3}},
    },
    # test_tool_choice: asked (tool_choice "any" / "magic_function") to call a tool on "Hello!".
    {
        "regex": r"^Hello!$",
        "function_call": {"name": "magic_function", "arguments": {"input": 3}},
    },
    # test_bind_runnables_as_tools
    {
        "contains": "generate a Pirate greeting",
        "function_call": {"name": "greeting_generator", "arguments": {"answer_style": "pirate"}},
    },
    # test_agent_loop: the first turn calls the tool; the second answers from its result.
    {
        "contains": "weather in San Francisco",
        "role": "user",
        "function_call": {"name": "get_weather", "arguments": {"location": "San Francisco, CA"}},
    },
    # test_unicode_tool_call_integration
    {
        "contains": "你好啊集团",
        "function_call": {
            "name": "unicode_customer",
            "arguments": {"customer_name": "你好啊集团", "description": "一家中国科技公司"},
        },
    },
    {
        "contains": "こんにちは株式会社",
        "function_call": {
            "name": "unicode_customer",
            "arguments": {"customer_name": "こんにちは株式会社", "description": "日本の会社"},
        },
    },
    # test_structured_few_shot_examples
    {
        "regex": r"^What is 3 \+ 4$",
        "function_call": {"name": "my_adder_tool", "arguments": {"a": 3, "b": 4}},
    },
    # test_structured_output*: a joke, as the forced function's arguments.
    {
        "contains": "no punchline",
        "function_call": {
            "name": "Joke",
            "arguments": {"setup": "Why don't cats play poker in the jungle?"},
        },
    },
    {
        "contains": "joke about cats",
        "function_call": {
            "name": "Joke",
            "arguments": {
                "setup": "Why don't cats play poker in the jungle?",
                "punchline": "Too many cheetahs.",
            },
        },
    },
]

_base_url: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def local_server() -> Any:
    with LocalServer(ServerConfig(rules=SCRIPTED_REPLIES)) as server:
        _base_url["url"] = server.base_url
        yield server


class TestQianfanChatEndpointIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[QianfanChatEndpoint]:
        return QianfanChatEndpoint

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "base_url": _base_url["url"],
            "api_key": "lc-standard-ak",
            "secret_key": "lc-standard-sk",
        }

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        # Text, tool_use and thinking blocks are accepted (flattened to text / tool calls).
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
