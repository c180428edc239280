"""LangChain's standard integration tests for a v2 VISION model (``ernie-4.5-turbo-vl``),
with the image tests switched on: ``test_image_inputs`` sends OpenAI's ``image_url`` block
(a base64 data URL), the standard ``image`` block with ``base64`` + ``mime_type``, and the
standard ``image`` block with an http(s) ``url``; the local server decodes and describes what
it receives (issue 11).

The suite downloads its picture from the internet (``httpx.get`` of a GitHub raw URL); ONLY
that download is replaced, by a local PNG fixture (``data/vision-fixture.png``): the test
itself runs unchanged. (Image tool messages stay off: Qianfan documents images in user
messages only, ``protocol-v2-extensions.md`` section 1.) Scripted replies are the v2 suite's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.integration_tests import chat_models as standard

from qianfan_chat.langchain import QianfanChatEndpoint
from qianfan_chat.server import LocalServer, ServerConfig

from .test_standard_integration_v2 import API_KEY, SCRIPTED_REPLIES

MODEL = "ernie-4.5-turbo-vl"  # vision, function calling
OVERRIDE_MODEL = "ernie-4.5-turbo-vl-32k"
FIXTURE = Path(__file__).parent / "data" / "vision-fixture.png"
# The one URL the suite downloads its picture from (langchain_tests test_image_inputs).
SUITE_IMAGE_HOST = "raw.githubusercontent.com"

_base_url: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def local_server() -> Any:
    with LocalServer(ServerConfig(rules=SCRIPTED_REPLIES)) as server:
        _base_url["url"] = server.base_url
        yield server


@pytest.fixture(autouse=True)
def local_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's picture download answers with the local PNG; any other use of
    ``httpx.get`` in the suite module is left alone."""
    real_get = httpx.get

    def get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        if httpx.URL(str(url)).host == SUITE_IMAGE_HOST:
            return httpx.Response(
                200, content=FIXTURE.read_bytes(), request=httpx.Request("GET", url)
            )
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(standard.httpx, "get", get)


class TestQianfanChatEndpointV2VisionIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[QianfanChatEndpoint]:
        return QianfanChatEndpoint

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "base_url": _base_url["url"], "api_key": API_KEY}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
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

    def test_profile_says_images(self, model: BaseChatModel) -> None:
        assert isinstance(model, QianfanChatEndpoint)
        assert model.profile is not None
        assert model.profile["image_inputs"] is True

    def test_the_server_saw_the_fixture(
        self, model: BaseChatModel, local_server: LocalServer
    ) -> None:
        """The image test's base64 blocks reached the server as the fixture's bytes."""
        self.test_image_inputs(model)
        described = [r for r in local_server.requests() if "data:image/png;base64," in r["body"]]
        assert len(described) >= 2
