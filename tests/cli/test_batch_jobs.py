"""``qianfan-chat batch submit/status/results/cancel/list`` against the local server, and one
input file moving between ``batch run`` (online) and an offline job unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from qianfan_chat._auth import clear_token_cache
from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer

GREETING = "您好！有什么我可以帮助您的吗？"
MODEL = "ernie-3.5-8k"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def run(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    server.reset()
    clear_token_cache()
    for name in ("QIANFAN_AK", "QIANFAN_SK", "QIANFAN_ACCESS_KEY", "QIANFAN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QIANFAN_API_KEY", "bce-v3/ALTAK-cli/0123456789abcdef")
    # Both: `batch run` on v2 and the job commands read the v2 variable, never a real host.
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", server.base_url)
    return CliRunner()


LINES = [
    json.dumps("你好", ensure_ascii=False),
    "plain text prompt",
    json.dumps([{"role": "user", "content": "boom"}]),
    json.dumps({"messages": [{"role": "user", "content": "最后"}]}, ensure_ascii=False),
]


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _submit(run: CliRunner, *args: str) -> str:
    result = run.invoke(main, ["batch", "submit", *args])
    assert result.exit_code == 0, result.output
    batch_id = result.stdout.splitlines()[0]
    assert batch_id.startswith("infer-")
    return batch_id


def test_one_file_online_and_offline_gives_the_same_lines(
    run: CliRunner, server: LocalServer, jobs: Path, tmp_path: Path
) -> None:
    server.add_rule(contains="boom", error_code="invalid_argument", error_msg="scripted failure")
    online = tmp_path / "online.jsonl"
    offline = tmp_path / "offline.jsonl"
    result = run.invoke(
        main, ["batch", "run", str(jobs), "-o", str(online), "--model", MODEL, "-w", "2"]
    )
    assert result.exit_code == 1, result.output  # one item failed
    batch_id = _submit(run, str(jobs), "--model", MODEL, "--wait", "--poll", "0.02")
    result = run.invoke(main, ["batch", "results", batch_id, "-o", str(offline)])
    assert result.exit_code == 1, result.output
    now = [json.loads(x) for x in online.read_text("utf-8").splitlines()]
    later = [json.loads(x) for x in offline.read_text("utf-8").splitlines()]
    assert [sorted(x) for x in now] == [sorted(x) for x in later]
    assert [x.get("result") for x in now] == [x.get("result") for x in later]
    assert later[0]["result"] == GREETING
    assert "plain text prompt" in later[1]["result"]
    failure = {"code": "invalid_argument", "message": "scripted failure"}
    for line in (now[2], later[2]):  # the same error line, online and offline
        assert line["status"] == "error"
        assert {k: line["error"][k] for k in failure} == failure
    assert [str(x["id"]) for x in now] == [x["id"] for x in later] == ["1", "2", "3", "4"]
    assert "最后" in later[3]["result"]
    assert later[0]["usage"]["total_tokens"] > 0


def test_submit_wait_shows_progress(run: CliRunner, jobs: Path) -> None:
    result = run.invoke(main, ["batch", "submit", str(jobs), "--wait", "--poll", "0.02"])
    assert result.exit_code == 0, result.output
    assert "Done: 4 ok, 0 failed" in result.stderr
    assert "4/4" in result.output  # the progress bar's count


def test_status_list_and_cancel(run: CliRunner, server: LocalServer, jobs: Path) -> None:
    server.state.batches.set_pace(line_seconds=0.2)
    batch_id = _submit(run, str(jobs), "-m", MODEL, "-s", "简短回答")
    status = run.invoke(main, ["batch", "status", batch_id])
    assert status.exit_code == 0, status.output
    shown = json.loads(status.stdout)
    assert shown["id"] == batch_id
    assert shown["status"] == "Running"
    assert shown["request_counts"]["total"] == 4
    listed = run.invoke(main, ["batch", "list"])
    assert listed.exit_code == 0
    assert f"{batch_id}\tRunning\t" in listed.stdout
    cancelled = run.invoke(main, ["batch", "cancel", batch_id])
    assert cancelled.exit_code == 0
    assert cancelled.stdout.strip() == f"{batch_id} Stopping"
    uploaded = next(r["body"] for r in server.requests() if r["path"] == "/v2/files")
    assert '{"role":"system","content":"简短回答"}' in uploaded  # --system leads each line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["status", "infer-nope"], "batch not found", id="unknown-batch"),
        pytest.param(["results", "infer-nope"], "batch not found", id="unknown-results"),
        pytest.param(["cancel", "infer-nope"], "batch not found", id="unknown-cancel"),
        pytest.param(["submit", "-", "--window", "999h"], "completion_window", id="window"),
    ],
)
def test_errors_are_clear(run: CliRunner, args: list[str], message: str) -> None:
    result = run.invoke(main, ["batch", *args], input="你好\n")
    assert result.exit_code != 0
    assert message in result.output


def test_submit_refuses_mixed_models_before_uploading(
    run: CliRunner, server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        {
            "custom_id": "a",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        },
        {
            "custom_id": "b",
            "body": {"model": "other", "messages": [{"role": "user", "content": "y"}]},
        },
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    result = run.invoke(main, ["batch", "submit", str(path)])
    assert result.exit_code != 0
    assert "one model" in result.output
    assert not [r for r in server.requests() if r["path"].startswith("/v2/")]


def test_batch_jobs_need_v2_credentials(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QIANFAN_API_KEY")
    result = run.invoke(main, ["batch", "list"])
    assert result.exit_code != 0
    assert "QIANFAN_API_KEY" in result.output
