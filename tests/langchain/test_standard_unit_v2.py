"""LangChain's standard unit tests for :class:`QianfanChatEndpoint` on the v2 (OpenAI-compatible)
API (no network: sockets are blocked except loopback, and nothing here connects)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from qianfan_chat.langchain import QianfanChatEndpoint

API_KEY = "bce-v3/ALTAK-unit000000000000000/0123456789abcdef0123456789abcdef01234567"


class TestQianfanChatEndpointV2Unit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[QianfanChatEndpoint]:
        return QianfanChatEndpoint

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "ernie-3.5-8k", "api_key": API_KEY}  # a v2 key: v2 is chosen

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # QIANFAN_API_KEY alone (no v1 AK/SK) chooses v2; the client reads the key itself.
        return (
            {"QIANFAN_API_KEY": API_KEY},
            {"model": "ernie-3.5-8k"},
            {"model": "ernie-3.5-8k", "resolved_api_version": "v2"},
        )

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "ernie-4.0-8k"

    @pytest.mark.xfail(
        reason=(
            "langchain-core 1.x load() revives only classes on its own allowlist "
            "(allowed_objects='all' means langchain-core's mapping), which a package outside "
            "the langchain monorepo cannot join. Serialization itself works: dumpd matches "
            "the snapshot (the key as the secret QIANFAN_API_KEY; the test fails only at "
            "load), and test_chat_model_v2.py::test_serialization_round_trip loads it back "
            "with allowed_objects=[QianfanChatEndpoint]."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)
