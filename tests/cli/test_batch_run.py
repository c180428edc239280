"""``qianfan-chat batch run`` against the local server over loopback: the input forms and bad
lines, the output lines (v1 and v2), resume after failures, a real ``kill -9`` and a Ctrl-C
of a running subprocess followed by ``--resume``, flat memory, progress lines, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qianfan_chat import batchrun
from qianfan_chat._auth import clear_token_cache
from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer

GREETING = "您好！有什么我可以帮助您的吗？"
V2_MODEL = "ernie-3.5-8k"
V1_ENV = {"QIANFAN_AK": "run-ak", "QIANFAN_SK": "run-sk"}
V2_ENV = {"QIANFAN_API_KEY": "bce-v3/ALTAK-run/0123456789abcdef"}
CREDENTIALS = ("QIANFAN_AK", "QIANFAN_SK", "QIANFAN_ACCESS_KEY", "QIANFAN_SECRET_KEY")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


def _env(server: LocalServer, version: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANFAN_")}
    env.update(V1_ENV if version == 1 else V2_ENV)
    env["QIANFAN_BASE_URL"] = server.base_url  # v1
    env["QIANFAN_CONSOLE_API_BASE_URL"] = server.base_url  # v2
    return env


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
def version(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def cli(server: LocalServer, monkeypatch: pytest.MonkeyPatch, version: int) -> CliRunner:
    server.reset()
    clear_token_cache()
    for name in (*CREDENTIALS, "QIANFAN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _env(server, version).items():
        if name.startswith("QIANFAN_"):
            monkeypatch.setenv(name, value)
    return CliRunner()


def model_args(version: int) -> list[str]:
    return ["--model", V2_MODEL] if version == 2 else []


def write_lines(path: Path, lines: list[Any]) -> Path:
    text = "".join(
        (x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines
    )
    path.write_text(text, encoding="utf-8")
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw == b"" or raw.endswith(b"\n"), "a torn last line"
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def chat_bodies(server: LocalServer) -> list[dict[str, Any]]:
    return [
        json.loads(r["body"])
        for r in server.requests()
        if r["path"].endswith("/chat/completions") or "/wenxinworkshop/chat/" in r["path"]
    ]


def exactly_once_all_ok(path: Path, ids: list[Any]) -> None:
    out = read_output(path)
    assert sorted(map(str, (x["id"] for x in out))) == sorted(map(str, ids))
    assert {x["status"] for x in out} == {"ok"}


# -- input forms --------------------------------------------------------------------------

FORMS = [
    pytest.param("你好", 1, None, id="prompt-string"),
    pytest.param("plain text, not JSON", 1, None, id="plain-text"),
    pytest.param([{"role": "user", "content": "你好"}], 1, None, id="messages-list"),
    pytest.param({"messages": [{"role": "user", "content": "你好"}]}, 1, None, id="messages"),
    pytest.param({"prompt": "你好", "id": "a-1"}, "a-1", None, id="prompt-with-id"),
    pytest.param(
        {"custom_id": "c9", "messages": [{"role": "user", "content": "x"}], "temperature": 0.3},
        "c9",
        {"temperature": 0.3},
        id="custom-id-and-parameter",
    ),
    pytest.param({"id": 42, "prompt": "x", "top_p": 0.5}, 42, {"top_p": 0.5}, id="int-id"),
    pytest.param(
        {"custom_id": "r1", "body": {"messages": [{"role": "user", "content": "x"}]}},
        "r1",
        None,
        id="ready-request-line",
    ),
]


@pytest.mark.parametrize(("line", "ident", "sent"), FORMS)
def test_input_forms(
    cli: CliRunner,
    server: LocalServer,
    tmp_path: Path,
    version: int,
    line: Any,
    ident: Any,
    sent: dict[str, Any] | None,
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [line])
    out = tmp_path / "out.jsonl"
    result = cli.invoke(main, ["batch", "run", str(source), "-o", str(out), *model_args(version)])
    assert result.exit_code == 0, result.output
    (record,) = read_output(out)
    assert record["id"] == ident
    assert record["status"] == "ok"
    (body,) = chat_bodies(server)
    for key, value in (sent or {}).items():
        assert body[key] == value


BAD = [
    pytest.param('{"messages": [', "not valid JSON", id="torn-json"),
    pytest.param("42", "expected a prompt", id="a-number"),
    pytest.param('{"id": 1}', 'needs "messages"', id="no-messages"),
    pytest.param('{"messages": []}', "non-empty list", id="empty-messages"),
    pytest.param('[{"content": "no role"}]', "string role", id="no-role"),
    pytest.param('{"prompt": "x", "id": true}', "id / custom_id", id="bool-id"),
    pytest.param('{"prompt": "x", "stream": true}', "stream", id="stream"),
    pytest.param('{"prompt": "x", "id": 1}', "earlier line", id="repeated-id"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD)
def test_a_bad_line_is_named_before_anything_is_sent(
    cli: CliRunner, server: LocalServer, tmp_path: Path, version: int, bad: str, reason: str
) -> None:
    source = write_lines(tmp_path / "in.jsonl", ["你好", bad, "再见"])
    out = tmp_path / "out.jsonl"
    args = ["batch", "run", str(source), "-o", str(out), *model_args(version)]
    result = cli.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "line 2:" in result.stderr
    assert reason in result.stderr
    assert chat_bodies(server) == []
    assert not out.exists()
    skipped = cli.invoke(main, [*args, "--skip-bad-lines"])
    assert skipped.exit_code == 0, skipped.output
    assert "line 2:" in skipped.stderr
    assert [x["id"] for x in read_output(out)] == [1, 3]


# -- output lines -------------------------------------------------------------------------


def test_output_lines_v1_and_v2(
    cli: CliRunner, server: LocalServer, tmp_path: Path, version: int
) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="scripted failure")
    source = write_lines(tmp_path / "in.jsonl", ["你好", "boom"])
    out = tmp_path / "out.jsonl"
    args = ["batch", "run", str(source), "-o", str(out), *model_args(version)]
    result = cli.invoke(main, args)
    assert result.exit_code == 1, result.output
    good, bad = read_output(out)
    answer = {"result", "usage"} | ({"choices"} if version == 2 else set())
    assert set(good) == {"id", "status", "attempts"} | answer
    assert good["result"] == GREETING
    assert good["attempts"] == 1
    assert good["usage"]["total_tokens"] > 0
    if version == 2:
        assert good["choices"][0]["message"]["content"] == GREETING
    assert set(bad) == {"id", "status", "error", "attempts"}
    assert bad["status"] == "error"
    assert set(bad["error"]) == {"code", "message", "request_id"}
    assert bad["error"]["code"] == (336003 if version == 1 else "invalid_argument")
    assert bad["error"]["request_id"]
    assert "failed by error code" in result.stderr
    assert "cost: unknown" in result.stderr


@pytest.mark.parametrize("version", [1], ids=["v1"])  # v2's tool calls are in choices
def test_function_call_line_v1(cli: CliRunner, server: LocalServer, tmp_path: Path) -> None:
    functions = [{"name": "weather", "description": "d", "parameters": {"type": "object"}}]
    line = {"prompt": "天气", "functions": functions}
    source = write_lines(tmp_path / "in.jsonl", [line])
    out = tmp_path / "out.jsonl"
    server.add_rule(contains="天气", function_call={"name": "weather", "arguments": "{}"})
    result = cli.invoke(main, ["batch", "run", str(source), "-o", str(out), "-m", "ERNIE-Bot"])
    assert result.exit_code == 0, result.output
    (record,) = read_output(out)
    assert record["function_call"]["name"] == "weather"


# -- resume -------------------------------------------------------------------------------


def test_resume_redoes_only_the_failed(
    cli: CliRunner, server: LocalServer, tmp_path: Path, version: int
) -> None:
    ids = [f"q{i}" for i in range(30)]
    source = write_lines(tmp_path / "in.jsonl", [{"id": i, "prompt": i} for i in ids])
    out = tmp_path / "out.jsonl"
    args = ["batch", "run", str(source), "-o", str(out), "-w", "4", *model_args(version)]
    server.add_fault(error_code=336003, times=5)  # not retryable: 5 items fail
    first = cli.invoke(main, args)
    assert first.exit_code == 1, first.output
    assert [x["status"] for x in read_output(out)].count("error") == 5
    server.clear_requests()
    second = cli.invoke(main, [*args, "--resume"])
    assert second.exit_code == 0, second.output
    assert len(chat_bodies(server)) == 5  # only the failed ones again
    assert "25 ok before this run" in second.stderr
    exactly_once_all_ok(out, ids)
    server.clear_requests()
    third = cli.invoke(main, [*args, "--resume"])  # nothing left: nothing sent
    assert third.exit_code == 0, third.output
    assert chat_bodies(server) == []
    exactly_once_all_ok(out, ids)


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b'{"id": "q9", "status": "ok", "res', id="torn-json"),
        pytest.param(b'{"id": "q9", "status": "ok"}', id="no-newline"),
        pytest.param(b"\x00\x00\x00", id="zeros"),
    ],
)
def test_resume_drops_a_torn_last_line(
    cli: CliRunner, server: LocalServer, tmp_path: Path, version: int, tail: bytes
) -> None:
    ids = [f"q{i}" for i in range(10)]
    source = write_lines(tmp_path / "in.jsonl", [{"id": i, "prompt": i} for i in ids])
    out = tmp_path / "out.jsonl"
    args = ["batch", "run", str(source), "-o", str(out), *model_args(version)]
    assert cli.invoke(main, args).exit_code == 0
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:5]) + tail)  # q5..q9 lost, a torn line at the end
    result = cli.invoke(main, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "1 torn" in result.stderr
    exactly_once_all_ok(out, ids)


# -- a real process: kill -9, Ctrl-C, memory, progress -----------------------------------


def _command(*args: str) -> list[str]:
    code = (
        "import resource, sys\n"
        "from qianfan_chat.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(f'PEAK_RSS_KB {peak}', file=sys.stderr)\n"
    )
    return [sys.executable, "-c", code, "batch", "run", *args]


def _lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _start_and_wait(args: list[str], env: dict[str, str], out: Path, lines: int) -> Any:
    proc = subprocess.Popen(
        _command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _lines_in(out) < lines:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.01)
    return proc


@pytest.fixture
def slow(server: LocalServer) -> Iterator[LocalServer]:
    """Every chat call takes 5 ms more, so a run of a few thousand lasts a few seconds."""
    server.reset()
    clear_token_cache()
    server.add_fault(latency=0.005)
    yield server
    server.reset()


@pytest.mark.parametrize("version", [1, 2], ids=["v1", "v2"])
def test_kill_9_then_resume_gives_every_id_once(
    slow: LocalServer, tmp_path: Path, version: int
) -> None:
    ids = list(range(1, 2001))
    source = write_lines(tmp_path / "in.jsonl", [f"prompt {i}" for i in ids])
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "-w", "16", *model_args(version)]
    env = _env(slow, version)
    proc = _start_and_wait(args, env, out, 300)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = _lines_in(out)
    assert 300 <= before < len(ids)
    resumed = subprocess.run(_command(*args, "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    exactly_once_all_ok(out, ids)


@pytest.mark.parametrize("version", [1, 2], ids=["v1", "v2"])
def test_ctrl_c_exits_130_then_resume_finishes(
    slow: LocalServer, tmp_path: Path, version: int
) -> None:
    ids = list(range(1, 2001))
    source = write_lines(tmp_path / "in.jsonl", [f"prompt {i}" for i in ids])
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "-w", "16", *model_args(version)]
    env = _env(slow, version)
    proc = _start_and_wait(args, env, out, 200)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == batchrun.EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr
    assert "wall time:" in stderr  # the summary
    partial = read_output(out)  # whole lines only: the calls in flight finished
    assert 200 <= len(partial) < len(ids)
    assert {x["status"] for x in partial} == {"ok"}
    resumed = subprocess.run(_command(*args, "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    exactly_once_all_ok(out, ids)


def _peak_kb(server: LocalServer, tmp_path: Path, lines: int) -> int:
    source = write_lines(tmp_path / f"in-{lines}.jsonl", [f"prompt {i}" for i in range(lines)])
    out = tmp_path / f"out-{lines}.jsonl"
    done = subprocess.run(
        _command(str(source), "-o", str(out), "-w", "16"),
        env=_env(server, 1),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _lines_in(out) == lines
    return int(done.stderr.rsplit("PEAK_RSS_KB ", 1)[1].split()[0])


def test_memory_stays_flat(server: LocalServer, tmp_path: Path) -> None:
    server.reset()
    small = _peak_kb(server, tmp_path, 1_000)
    large = _peak_kb(server, tmp_path, 10_000)
    # Ten times the lines: only the set of ids grows (well under 2 MB here); 15 MB is generous.
    assert large - small < 15 * 1024, (small, large)


def test_plain_progress_lines_when_not_a_terminal(slow: LocalServer, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [f"p {i}" for i in range(200)])
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "-w", "2", "--progress-every", "0.1"]
    done = subprocess.run(_command(*args), env=_env(slow, 1), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    progress = [x for x in done.stderr.splitlines() if x.startswith("batch: ")]
    assert len(progress) >= 3
    assert progress[-1].startswith("batch: 200/200 done, 0 failed")
    assert "ETA" in progress[0]
    assert "tokens" in progress[0]
    assert "\x1b[" not in done.stderr  # no terminal codes


# -- exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "extra", "code"),
    [
        pytest.param(["a", "b"], [], 0, id="all-ok"),
        pytest.param(["a", "boom"], [], 1, id="some-failed"),
        pytest.param(["a", "{oops"], [], 2, id="bad-line"),
        pytest.param(["a", "{oops"], ["--skip-bad-lines"], 0, id="bad-line-skipped"),
        pytest.param(["boom"], ["--skip-bad-lines"], 1, id="failed-after-skipping"),
    ],
)
def test_exit_codes(
    cli: CliRunner,
    server: LocalServer,
    tmp_path: Path,
    version: int,
    lines: list[str],
    extra: list[str],
    code: int,
) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="scripted failure")
    source = write_lines(tmp_path / "in.jsonl", lines)
    args = ["batch", "run", str(source), "-o", str(tmp_path / "o.jsonl"), *extra]
    result = cli.invoke(main, [*args, *model_args(version)])
    assert result.exit_code == code, result.output


def test_rate_limits_reach_the_client(cli: CliRunner, tmp_path: Path, version: int) -> None:
    # 120 RPM: the sliding window admits 120 at once, so 3 calls are not slowed; the limit is
    # checked to reach ChatCompletion (its own tests measure the pacing).
    source = write_lines(tmp_path / "in.jsonl", ["a", "b", "c"])
    args = ["batch", "run", str(source), "-o", str(tmp_path / "o.jsonl"), "--rpm", "120"]
    result = cli.invoke(main, [*args, "--tpm", "100000", *model_args(version)])
    assert result.exit_code == 0, result.output


def test_resume_needs_an_output_file(cli: CliRunner, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", ["a"])
    result = cli.invoke(main, ["batch", "run", str(source), "--resume"])
    assert result.exit_code == 2
    assert "--resume needs an output file" in result.output


def test_stdin_in_stdout_out(cli: CliRunner, version: int) -> None:
    result = cli.invoke(main, ["batch", "run", "-", *model_args(version)], input="你好\n再见\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [1, 2]


@pytest.mark.parametrize(("priced", "shown"), [(False, "cost: unknown"), (True, "cost: 0.")])
def test_cost_when_the_price_is_known(
    cli: CliRunner,
    tmp_path: Path,
    version: int,
    monkeypatch: pytest.MonkeyPatch,
    priced: bool,
    shown: str,
) -> None:
    model = V2_MODEL if version == 2 else "ERNIE-Bot"
    if priced:  # the hook over the library's prices (qianfan_chat.cost_of)
        monkeypatch.setitem(batchrun.PRICES, model, (0.8, 2.0))
    source = write_lines(tmp_path / "in.jsonl", ["a", "b"])
    args = ["batch", "run", str(source), "-o", str(tmp_path / "o.jsonl"), "--model", model]
    result = cli.invoke(main, args)
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("cost: ")]
    assert line.startswith(shown)
    assert line.endswith("CNY") == priced
