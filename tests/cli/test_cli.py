"""The command line against the local server: chat (one-shot, streamed, interactive), batch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from qianfan_chat._auth import clear_token_cache
from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer

GREETING = "您好！有什么我可以帮助您的吗？"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def run(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    server.reset()
    clear_token_cache()
    monkeypatch.setenv("QIANFAN_AK", "cli-ak")
    monkeypatch.setenv("QIANFAN_SK", "cli-sk")
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)
    return CliRunner()


def chat_bodies(server: LocalServer) -> list[dict[str, object]]:
    return [json.loads(r["body"]) for r in server.requests() if "/chat/" in r["path"]]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_chat_one_shot(run: CliRunner, server: LocalServer, stream: bool) -> None:
    args = ["chat", "你好", "--model", "ERNIE-Bot", "-p", "temperature=0.5", "--system", "诗人"]
    result = run.invoke(main, [*args, "--stream"] if stream else args)
    assert result.exit_code == 0, result.output
    assert GREETING in result.output
    (body,) = chat_bodies(server)
    assert body["temperature"] == 0.5
    assert body["system"] == "诗人"
    assert body.get("stream", False) is stream
    assert server.requests()[-1]["path"].endswith("/chat/completions")


def test_chat_interactive_keeps_the_conversation(run: CliRunner, server: LocalServer) -> None:
    result = run.invoke(main, ["chat"], input="你好\n介绍一下你自己\n\n")
    assert result.exit_code == 0, result.output
    assert GREETING in result.output
    assert "介绍一下你自己" in result.output
    _first, second = chat_bodies(server)
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]  # type: ignore[index]


def test_chat_bad_input_is_a_clear_error(run: CliRunner, server: LocalServer) -> None:
    result = run.invoke(main, ["chat", "hi", "-p", "temperature=0"])
    assert result.exit_code != 0
    assert "temperature" in result.output
    assert chat_bodies(server) == []
    result = run.invoke(main, ["chat", "hi", "--model", "ERNIE-Bot-5"])
    assert result.exit_code != 0
    assert "ERNIE-Bot" in result.output


def test_batch_in_order_with_failures_in_place(run: CliRunner, server: LocalServer) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="scripted failure")  # test data
    lines = [
        json.dumps("你好", ensure_ascii=False),
        "plain text prompt",
        json.dumps([{"role": "user", "content": "boom"}]),
        json.dumps({"messages": [{"role": "user", "content": "最后"}]}, ensure_ascii=False),
    ]
    result = run.invoke(main, ["batch", "run", "-", "-w", "2"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1  # one item failed
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert out[0]["result"] == GREETING
    assert "plain text prompt" in out[1]["result"]
    assert [x["id"] for x in out] == [1, 2, 3, 4]  # the line numbers, in input order
    assert [x["status"] for x in out] == ["ok", "ok", "error", "ok"]
    assert out[2]["error"]["code"] == 336003
    assert "最后" in out[3]["result"]


def test_serve_help_is_importable_without_starting() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output
