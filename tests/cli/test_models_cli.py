"""``qianfan-chat models``: the live catalogue from the local server's ``/v2/models`` (a rich
table, or ``--json``), and the built-in table offline (``--builtin``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

import qianfan_chat
from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer

API_KEY = "bce-v3/ALTAK-clitest000000000000/0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def run(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    server.reset()
    qianfan_chat.clear_catalogue_cache()
    for name in ("QIANFAN_AK", "QIANFAN_SK", "QIANFAN_ACCESS_KEY", "QIANFAN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QIANFAN_API_KEY", API_KEY)
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", server.base_url)
    return CliRunner()


def test_models_json(run: CliRunner, server: LocalServer) -> None:
    result = run.invoke(main, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    assert [r["path"] for r in server.requests()] == ["/v2/models"]
    vl = rows["ernie-4.5-turbo-vl"]
    assert (vl["vision"], vl["tools"]) == (True, True)
    assert rows["qwen3-8b"]["reasoning"] == "enable_thinking"
    assert rows["ernie-4.5-turbo-128k"]["pricing"] == {"prompt": "0.0008", "completion": "0.0032"}
    assert rows["ernie-4.5-turbo-128k"]["max_tokens"] == 12288


def test_models_table(run: CliRunner) -> None:
    result = run.invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    assert "ernie-4.5-turbo-vl" in result.output
    assert "CNY/1K in" in result.output


def test_models_builtin_needs_no_service(run: CliRunner, server: LocalServer) -> None:
    result = run.invoke(main, ["models", "--builtin", "--json"])
    assert result.exit_code == 0, result.output
    ids = [row["id"] for row in json.loads(result.output)]
    assert "ernie-5.1" in ids
    assert "deepseek-v3.2" in ids
    assert server.requests() == []


def test_models_without_a_v2_credential(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QIANFAN_API_KEY")
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", "http://127.0.0.1:9")
    result = run.invoke(main, ["models", "--json"])
    assert result.exit_code == 1
    assert "Error" in result.output
