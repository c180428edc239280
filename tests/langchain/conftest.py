"""Shared set-up for the LangChain tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.conftest import base_vcr_config

CASSETTES = Path(__file__).parent / "cassettes"


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """VCR for the standard suite's ``test_stream_time`` benchmark: cassettes recorded from
    the local server (TEST DATA), matched on method and path only (the server's port and the
    access token change from run to run), with credentials filtered out."""
    config = base_vcr_config()
    config["cassette_library_dir"] = str(CASSETTES)
    config["match_on"] = ["method", "path"]
    config["filter_query_parameters"] = ["access_token", "client_id", "client_secret"]
    config["before_record_response"] = _scrub_token_reply
    return config


def _scrub_token_reply(response: dict[str, Any]) -> dict[str, Any]:
    """Keep no token in a cassette, not even a local server's."""
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes | str) and b"access_token" in (
        body if isinstance(body, bytes) else body.encode()
    ):
        data = json.loads(body)
        for key in ("access_token", "refresh_token", "session_key", "session_secret"):
            if key in data:
                data[key] = "PLACEHOLDER"
        text = json.dumps(data)
        response["body"]["string"] = text.encode() if isinstance(body, bytes) else text
        response["headers"].pop("content-length", None)
        response["headers"].pop("Content-Length", None)
    return response


class Runner:
    """One behaviour, on the ``sync`` path (from a worker thread, as sync code runs) or the
    native ``async`` one."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def invoke(self, runnable: Any, value: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(runnable.invoke, value, **kwargs)
        return await runnable.ainvoke(value, **kwargs)

    async def stream(self, runnable: Any, value: Any, **kwargs: Any) -> list[Any]:
        if self.mode == "sync":
            return await asyncio.to_thread(lambda: list(runnable.stream(value, **kwargs)))
        return [chunk async for chunk in runnable.astream(value, **kwargs)]

    async def batch(self, runnable: Any, values: list[Any], **kwargs: Any) -> list[Any]:
        if self.mode == "sync":
            return await asyncio.to_thread(runnable.batch, values, **kwargs)
        return await runnable.abatch(values, **kwargs)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    return Runner(request.param)
