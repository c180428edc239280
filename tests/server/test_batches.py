"""The local server's files + batches (protocol-v2-extensions.md section 5), over loopback with
httpx and with the real ``openai`` package: uploads, error shapes, the job life cycle and its
pace, the output and error file lines."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from qianfan_chat._protocol import batches as facts
from qianfan_chat.server import LocalServer

from .conftest import V2, V2_MODEL, user


def line(custom_id: str, text: str, model: str = V2_MODEL, **fields: Any) -> dict[str, Any]:
    body = {"model": model, "messages": user(text), **fields}
    return {"custom_id": custom_id, "method": "POST", "url": "/v2/chat/completions", "body": body}


def upload(v2: V2, content: bytes, purpose: str = "batch", **kw: Any) -> httpx.Response:
    return v2.client.post(
        v2.server.url("/v2/files"),
        headers=v2.headers(**kw),
        files={"file": ("in.jsonl", content, "application/jsonl")},
        data={"purpose": purpose},
    )


def create(v2: V2, **body: Any) -> httpx.Response:
    return v2.client.post(v2.server.url("/v2/batches"), headers=v2.headers(), json=body)


def get(v2: V2, path: str) -> httpx.Response:
    return v2.client.get(v2.server.url(path), headers=v2.headers())


def run_job(v2: V2, lines: list[Any], timeout: float = 5.0, **body: Any) -> dict[str, Any]:
    file_id = upload(v2, facts.dump_jsonl(lines)).json()["id"]
    batch = create(v2, input_file_id=file_id, endpoint="/v2/chat/completions", **body).json()
    deadline = time.monotonic() + timeout
    while batch["status"] in ("Running", "Stopping"):
        assert time.monotonic() < deadline, batch
        time.sleep(0.02)
        batch = get(v2, f"/v2/batches/{batch['id']}").json()
    return dict(batch)


def file_lines(v2: V2, file_id: str) -> list[dict[str, Any]]:
    response = get(v2, f"/v2/files/{file_id}/content")
    assert response.status_code == 200
    return facts.parse_jsonl(response.content)


def test_upload_get_list_and_content(v2: V2) -> None:
    content = facts.dump_jsonl([line("a", "你好")])
    response = upload(v2, content)
    assert response.status_code == 200, response.text
    uploaded = response.json()
    assert set(uploaded) == {"id", "object", "bytes", "created_at", "filename", "purpose"}
    assert uploaded["id"].startswith("file-")
    assert uploaded["object"] == "file"
    assert (uploaded["bytes"], uploaded["filename"], uploaded["purpose"]) == (
        len(content),
        "in.jsonl",
        "batch",
    )
    assert get(v2, f"/v2/files/{uploaded['id']}").json() == uploaded
    assert get(v2, f"/v2/files/{uploaded['id']}/content").content == content
    listed = get(v2, "/v2/files?purpose=batch&limit=1").json()
    assert listed["object"] == "list"
    assert listed["data"][0]["id"] == uploaded["id"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("GET", "/v2/files/file-nope", 404, "invalid_retrieve_file", id="file"),
        pytest.param("GET", "/v2/files/file-nope/content", 404, "invalid_retrieve_file", id="c"),
        pytest.param("GET", "/v2/batches/infer-nope", 404, "invalid_retrieve_batch", id="batch"),
        pytest.param("POST", "/v2/batches/infer-x/cancel", 404, "invalid_retrieve_batch", id="x"),
        pytest.param("DELETE", "/v2/batches", 405, "method_not_supported", id="method"),
        pytest.param("GET", "/v2/files/file-x/other", 404, "not_found", id="path"),
        pytest.param("GET", "/v2/files?order=sideways", 400, "invalid_argument", id="order"),
    ],
)
def test_errors_have_qianfans_shape(v2: V2, method: str, path: str, status: int, code: str) -> None:
    response = v2.client.request(method, v2.server.url(path), headers=v2.headers())
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "id"}
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "type"}
    if code == "invalid_retrieve_file":  # [doc], verbatim
        assert body["error"]["message"] == "file not found"
        assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("files", "data", "code"),
    [
        pytest.param(None, {"purpose": "batch"}, "invalid_argument", id="no-file"),
        pytest.param({"file": ("a.jsonl", b"{}")}, {}, "invalid_argument", id="no-purpose"),
    ],
)
def test_bad_uploads(v2: V2, files: Any, data: dict[str, str], code: str) -> None:
    response = v2.client.post(
        v2.server.url("/v2/files"),
        headers=v2.headers(),
        files=files or {"other": ("x", b"")},
        data=data,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_uploads_are_bounded_and_need_a_key(serve_v2: Any) -> None:
    v2 = serve_v2(batch_max_file_bytes=100, api_keys=["bce-v3/ALTAK-good/key"])
    v2.key = "bce-v3/ALTAK-good/key"
    assert upload(v2, b"x" * 100).status_code == 200
    assert upload(v2, b"x" * 101).status_code == 413
    refused = upload(v2, b"{}", key="bce-v3/ALTAK-bad/key")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_iam_token"


def test_a_100_line_job_is_done_within_seconds(v2: V2) -> None:
    started = time.monotonic()
    batch = run_job(v2, [line(f"q{i}", f"问题 {i}") for i in range(100)])
    assert time.monotonic() - started < 5
    assert batch["status"] == "Done"
    assert batch["request_counts"] == {"total": 100, "completed": 100, "failed": 0}
    assert batch["id"].startswith("infer-")
    assert batch["object"] == "batch"
    assert batch["error_file_id"] is None
    assert batch["completed_at"] >= batch["created_at"]
    outputs = file_lines(v2, batch["output_file_id"])
    assert sorted(o["custom_id"] for o in outputs) == sorted(f"q{i}" for i in range(100))


def test_output_and_error_lines(v2: V2) -> None:
    v2.server.add_rule(contains="失败", error_code="rpm_rate_limit_exceeded")  # test data
    lines = [
        line("ok", "你好"),
        line("too-long", "x", max_tokens=100_000),
        line("no-messages", "x", messages=[]),
        line("scripted", "请失败"),
    ]
    batch = run_job(v2, lines)
    assert batch["status"] == "Done"
    assert batch["request_counts"] == {"total": 4, "completed": 1, "failed": 3}, batch
    (output,) = file_lines(v2, batch["output_file_id"])
    assert set(output) == {"id", "custom_id", "response", "error"}
    assert output["custom_id"] == "ok"
    assert output["error"] is None
    assert set(output["response"]) == {"status_code", "request_id", "body"}
    assert output["response"]["status_code"] == 200
    assert output["response"]["body"]["object"] == "chat.completion"
    errors = {e["custom_id"]: e for e in file_lines(v2, batch["error_file_id"])}
    assert {k: (e["response"]["status_code"], e["error"]["code"]) for k, e in errors.items()} == {
        "too-long": (400, "invalid_argument"),
        "no-messages": (400, "invalid_messages"),
        "scripted": (429, "rpm_rate_limit_exceeded"),
    }


def test_replace_runs_every_line_with_another_model(v2: V2) -> None:
    batch = run_job(v2, [line("a", "x")], replace={"model": "ernie-4.0-8k"})
    assert batch["model"] == "ernie-4.0-8k"
    (output,) = file_lines(v2, batch["output_file_id"])
    assert output["response"]["body"]["model"] == "ernie-4.0-8k"
    unknown = run_job(v2, [line("a", "x")], replace={"model": "no-such-model"})
    (error,) = file_lines(v2, unknown["error_file_id"])
    assert (error["response"]["status_code"], error["error"]["code"]) == (401, "invalid_model")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"not json\n", "line 1 is not JSON", id="not-jsonl"),
        pytest.param(
            facts.dump_jsonl([line("a", "x"), line("b", "y", model="ernie-4.0-8k")]),
            "same model",
            id="two-models",
        ),
        pytest.param(facts.dump_jsonl([line("a", "x"), line("a", "y")]), "repeated", id="dup"),
        pytest.param(
            facts.dump_jsonl([line(f"{i}", "x") for i in range(5001)]), "5000", id="5001-lines"
        ),
        pytest.param(facts.dump_jsonl([{"custom_id": "a"}]), "body", id="no-body"),
    ],
)
def test_a_file_breaking_a_file_rule_fails_the_job(v2: V2, content: bytes, message: str) -> None:
    file_id = upload(v2, content).json()["id"]
    batch = create(v2, input_file_id=file_id).json()
    assert batch["status"] == "Failed"
    assert batch["errors"]["code"] == "invalid_input_file"
    assert message in batch["errors"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param({"input_file_id": "file-nope"}, 404, "invalid_retrieve_file", id="no-file"),
        pytest.param({}, 400, "invalid_argument", id="no-input"),
        pytest.param(
            {"input_file_id": "f", "completion_window": "0h"}, 400, "invalid_argument", id="window"
        ),
        pytest.param(
            {"input_file_id": "f", "endpoint": "/v2/embeddings"}, 400, "invalid_argument", id="ep"
        ),
    ],
)
def test_bad_creates(v2: V2, body: dict[str, Any], status: int, code: str) -> None:
    response = create(v2, **body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_cancel_goes_stopping_then_stopped(v2: V2) -> None:
    v2.server.state.batches.set_pace(line_seconds=0.05)
    file_id = upload(v2, facts.dump_jsonl([line(f"{i}", "x") for i in range(50)])).json()["id"]
    batch = create(v2, input_file_id=file_id).json()
    assert batch["status"] == "Running"
    cancelled = v2.client.post(
        v2.server.url(f"/v2/batches/{batch['id']}/cancel"), headers=v2.headers()
    ).json()
    assert cancelled["status"] == "Stopping"
    assert cancelled["cancelling_at"]
    deadline = time.monotonic() + 5
    while cancelled["status"] == "Stopping":
        assert time.monotonic() < deadline
        time.sleep(0.02)
        cancelled = get(v2, f"/v2/batches/{batch['id']}").json()
    assert cancelled["status"] == "Stopped"
    assert cancelled["cancelled_at"]
    done = cancelled["request_counts"]["completed"]
    assert done < 50
    assert len(file_lines(v2, cancelled["output_file_id"])) == done


def test_the_pace_admin_route(v2: V2) -> None:
    url = v2.server.url("/_admin/batches")
    assert v2.client.get(url).json()["line_seconds"] == 0.0
    changed = v2.client.post(url, json={"line_seconds": 0.01, "hour_seconds": 2}).json()
    assert (changed["line_seconds"], changed["hour_seconds"]) == (0.01, 2)
    assert v2.client.post(url, json={"line_seconds": -1}).status_code == 400
    assert v2.client.post(url, json={"speed": 1}).status_code == 400
    v2.server.reset()
    assert v2.client.get(url).json()["line_seconds"] == 0.0


def test_the_pace_config_field(serve_v2: Any) -> None:
    v2 = serve_v2(batch_line_seconds=0.05)
    file_id = upload(v2, facts.dump_jsonl([line(f"{i}", "x") for i in range(10)])).json()["id"]
    batch = create(v2, input_file_id=file_id).json()
    time.sleep(0.12)
    running = get(v2, f"/v2/batches/{batch['id']}").json()
    assert running["status"] == "Running"
    assert 0 < running["request_counts"]["completed"] < 10
    with pytest.raises(ValueError, match="line_seconds"):
        LocalServer(batch_line_seconds=-1)


def test_the_openai_package_runs_a_batch(server: LocalServer, tmp_path: Any) -> None:
    """What users point at Qianfan today: upload, create, poll, download, unchanged."""
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.v2_base_url, api_key="openai-key", max_retries=0)
    path = tmp_path / "requests.jsonl"
    path.write_bytes(facts.dump_jsonl([line("a", "你好"), line("b", "第二个")]))
    with path.open("rb") as fh:
        uploaded = client.files.create(file=fh, purpose="batch")
    assert uploaded.id.startswith("file-")
    assert uploaded.bytes == path.stat().st_size
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v2/chat/completions",  # type: ignore[arg-type]
        completion_window="24h",
    )
    deadline = time.monotonic() + 5
    while batch.status not in ("Done", "Failed", "Stopped", "Expired"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
        batch = client.batches.retrieve(batch.id)
    # Qianfan's own status names pass through the openai models unvalidated.
    assert batch.status == "Done"
    assert batch.request_counts is not None
    assert batch.request_counts.completed == 2
    assert batch.output_file_id is not None
    content = client.files.content(batch.output_file_id)
    outputs = {o["custom_id"]: o for o in map(json.loads, content.text.splitlines())}
    assert outputs["a"]["response"]["body"]["choices"][0]["message"]["content"]
    assert client.files.retrieve(uploaded.id).filename == "requests.jsonl"
    listed = client.batches.list()
    assert batch.id in [b.id for b in listed.data]
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "Done"  # A finished job stays as it is.
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-nope")
