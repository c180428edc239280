"""LangChain's standard unit tests for :class:`QianfanChatEndpoint` (no network: sockets are
blocked except loopback, and nothing here connects)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from qianfan_chat.langchain import QianfanChatEndpoint


class TestQianfanChatEndpointUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[QianfanChatEndpoint]:
        return QianfanChatEndpoint

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "ERNIE-3.5-8K"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"QIANFAN_AK": "env-ak", "QIANFAN_SK": "env-sk"},
            {"model": "ERNIE-3.5-8K"},
            {"qianfan_ak": "env-ak", "qianfan_sk": "env-sk"},
        )

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "ERNIE-4.0-8K"

    @pytest.mark.xfail(
        reason=(
            "langchain-core 1.x load() revives only classes on its own allowlist "
            "(allowed_objects='all' means langchain-core's mapping), which a package outside "
            "the langchain monorepo cannot join. Serialization itself works: dumpd matches "
            "the snapshot (the test fails only at load), and "
            "test_chat_model.py::test_serialization_round_trip loads it back with "
            "allowed_objects=[QianfanChatEndpoint]."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)
