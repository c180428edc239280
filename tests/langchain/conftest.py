"""Shared set-up for the LangChain tests."""

from __future__ import annotations

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
