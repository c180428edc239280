"""Batch inference through the client (``chat.files``, ``chat.batches``, ``BatchInput``):
the whole life cycle over loopback against the local server, on the sync and the async path;
the checks made before anything is sent; the statuses and result lines read back."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qianfan_chat import (
    APITimeoutError,
    AuthenticationError,
    Batch,
    BatchInput,
    BatchResult,
    BatchStatus,
    ChatCompletion,
    FileObject,
    InvalidRequestError,
    NotFoundError,
    ServerError,
)
from qianfan_chat._protocol import batches as facts
from qianfan_chat.server import LocalServer

from .conftest import AK, IAM_AK, IAM_SK, SK, user

MODEL = "ernie-3.5-8k"


@pytest.fixture
def chat(server: LocalServer) -> Iterator[ChatCompletion]:
    with ChatCompletion(
        version=2, api_key="batch-key", base_url=server.base_url, backoff_factor=0
    ) as client:
        yield client


def v2_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["path"].startswith("/v2/")]


class Runner:
    """Runs one batch API call on the sync path (``name``) or the async one (``aname``)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def __call__(self, api: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(getattr(api, name), *args, **kwargs)
        async_name = "await_" if name == "wait" else f"a{name}"
        return await getattr(api, async_name)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Runner:
    return Runner(request.param)


def three_requests() -> BatchInput:
    requests = BatchInput(model=MODEL)
    requests.add(user("你好"), custom_id="greet")
    requests.add(user("第二个问题"), temperature=0.5)  # custom_id "request-2"
    requests.add(user("太短"), max_tokens=1, custom_id="too-short")  # the server refuses it
    return requests


async def test_life_cycle(chat: ChatCompletion, server: LocalServer, call: Runner) -> None:
    seen: list[Batch] = []
    batch = await call(chat.batches, "submit", three_requests(), metadata={"team": "qa"})
    assert batch.id.startswith("infer-")
    assert batch.status in (BatchStatus.RUNNING, BatchStatus.DONE)
    assert batch.model == MODEL
    assert batch.request_counts.total == 3
    done = await call(chat.batches, "wait", batch.id, poll_interval=0.02, on_progress=seen.append)
    assert done.status is BatchStatus.DONE
    assert done.is_finished
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
    assert seen
    assert seen[-1].status is BatchStatus.DONE
    assert done.metadata == {"team": "qa"}

    results = await call(chat.batches, "results", done)
    assert [r.custom_id for r in results] == ["greet", "request-2", "too-short"]
    greet, second, short = results
    assert greet.ok
    assert greet.text == "您好！有什么我可以帮助您的吗？"
    assert greet.status_code == 200
    assert greet.request_id
    assert second.ok
    assert "第二个问题" in (second.text or "")
    assert not short.ok
    assert short.status_code == 400
    assert short.error is not None
    assert short.error["code"] == "invalid_argument"

    inputs = await call(chat.files, "get", done.input_file_id)
    assert isinstance(inputs, FileObject)
    assert inputs.purpose == "batch"
    content = await call(chat.files, "download", done.input_file_id)
    assert [line["custom_id"] for line in facts.parse_jsonl(content)] == [
        "greet",
        "request-2",
        "too-short",
    ]
    listed = await call(chat.files, "list", purpose="batch")
    assert inputs.id in [f.id for f in listed]
    batches = await call(chat.batches, "list")
    assert done.id in [b.id for b in batches]
    # Every call carried the bearer key; uploads were multipart, downloads GETs.
    sent = v2_requests(server)
    assert all(r["headers"].get("authorization", "").startswith("Bearer ") for r in sent)
    upload = next(r for r in sent if r["path"] == "/v2/files" and r["method"] == "POST")
    assert upload["headers"]["content-type"].startswith("multipart/form-data")


async def test_create_over_an_uploaded_file(chat: ChatCompletion, call: Runner) -> None:
    uploaded = await call(chat.files, "upload", three_requests().to_jsonl(), filename="in.jsonl")
    assert uploaded.filename == "in.jsonl"
    assert uploaded.bytes
    assert uploaded.id.startswith("file-")
    batch = await call(
        chat.batches,
        "create",
        input_file_id=uploaded.id,
        completion_window="48h",
        replace={"model": "ernie-4.0-8k"},
    )
    assert batch.completion_window == "48h"
    assert batch.model == "ernie-4.0-8k"
    done = await call(chat.batches, "wait", batch.id, poll_interval=0.02)
    results = await call(chat.batches, "results", done.id)
    assert results[0].body["model"] == "ernie-4.0-8k"


async def test_cancel_stops_a_slow_job(
    chat: ChatCompletion, server: LocalServer, call: Runner
) -> None:
    server.state.batches.set_pace(line_seconds=0.05)
    requests = BatchInput(model=MODEL)
    for i in range(40):
        requests.add(user(f"问题 {i}"))
    batch = await call(chat.batches, "submit", requests)
    stopping = await call(chat.batches, "cancel", batch.id)
    assert stopping.status is BatchStatus.STOPPING
    assert not stopping.is_finished
    stopped = await call(chat.batches, "wait", batch.id, poll_interval=0.02)
    assert stopped.status is BatchStatus.STOPPED
    assert stopped.request_counts.done < 40
    results: list[BatchResult] = await call(chat.batches, "results", stopped)
    assert len(results) == 40  # every input line, answered or not
    assert results[-1].error == {
        "code": "no_result",
        "message": "the batch returned no result for this line",
    }


async def test_a_job_past_its_window_expires(
    chat: ChatCompletion, server: LocalServer, call: Runner
) -> None:
    server.state.batches.set_pace(line_seconds=0.05, hour_seconds=0.1)  # an "hour" of 0.1 s
    requests = BatchInput(model=MODEL)
    for i in range(20):
        requests.add(user(f"问题 {i}"))
    batch = await call(chat.batches, "submit", requests, completion_window="1h")
    expired = await call(chat.batches, "wait", batch.id, poll_interval=0.05)
    assert expired.status is BatchStatus.EXPIRED
    assert expired.is_finished
    assert 0 < expired.request_counts.done < 20


async def test_wait_reports_progress_and_times_out(
    chat: ChatCompletion, server: LocalServer, call: Runner
) -> None:
    server.state.batches.set_pace(line_seconds=0.05)
    requests = BatchInput(model=MODEL)
    for i in range(200):
        requests.add(user(f"问题 {i}"))
    batch = await call(chat.batches, "submit", requests)
    seen: list[int] = []
    with pytest.raises(APITimeoutError, match="still Running"):
        await call(
            chat.batches,
            "wait",
            batch.id,
            poll_interval=0.05,
            timeout=0.4,
            on_progress=lambda b: seen.append(b.request_counts.done),
        )
    assert len(seen) >= 2
    assert seen == sorted(seen)
    assert seen[-1] > 0
    await call(chat.batches, "cancel", batch.id)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        pytest.param("files.get", ("file-unknown",), id="file"),
        pytest.param("files.download", ("file-unknown",), id="file-content"),
        pytest.param("batches.get", ("infer-unknown",), id="batch"),
        pytest.param("batches.cancel", ("infer-unknown",), id="cancel"),
    ],
)
async def test_unknown_ids_are_not_found(
    chat: ChatCompletion, call: Runner, method: str, args: tuple[str, ...]
) -> None:
    group, name = method.split(".")
    with pytest.raises(NotFoundError) as caught:
        await call(getattr(chat, group), name, *args)
    assert caught.value.error_code in ("invalid_retrieve_file", "invalid_retrieve_batch")
    assert caught.value.status_code == 404
    assert caught.value.request_id


def _lines(n: int, model: str = MODEL) -> list[dict[str, Any]]:
    return [facts.request_line(f"r{i}", {"model": model, "messages": user("hi")}) for i in range(n)]


def _add_many(n: int) -> None:
    requests = BatchInput(model=MODEL)
    for _ in range(n):
        requests.add(user("hi"))


BAD_INPUTS = [
    pytest.param(lambda: BatchInput().add(user("")), "line 1.body.messages", id="empty-content"),
    pytest.param(
        lambda: BatchInput(model=MODEL).add([{"role": "robot", "content": "x"}]),
        "line 1.body.messages",
        id="bad-role",
    ),
    pytest.param(
        lambda: BatchInput.from_lines([*_lines(1), *_lines(1, "ernie-4.0-8k")]),
        "line 2.custom_id",
        id="repeated-id",
    ),
    pytest.param(
        lambda: BatchInput.from_lines(
            [_lines(1)[0], facts.request_line("b", {"model": "other", "messages": user("x")})]
        ),
        "line 2.body.model",
        id="two-models",
    ),
    pytest.param(lambda: _add_many(facts.MAX_LINES + 1), "lines", id="5001-lines"),
    pytest.param(lambda: BatchInput().to_jsonl(), "lines", id="no-lines"),
    pytest.param(
        lambda: BatchInput().add_line({"custom_id": "x", "method": "GET", "body": {}}),
        "line 1.method",
        id="method",
    ),
    pytest.param(
        lambda: BatchInput().add_line({"custom_id": "x", "url": "/v2/embeddings", "body": {}}),
        "line 1.url",
        id="url",
    ),
]


@pytest.mark.parametrize(("make", "field"), BAD_INPUTS)
def test_the_builder_checks_the_documented_limits(make: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        make()
    assert caught.value.field.startswith(field)


BAD_CALLS = [
    pytest.param("files.upload", (b"not json\n",), {}, "file", id="not-jsonl"),
    pytest.param(
        "files.upload",
        (facts.dump_jsonl([*_lines(1), facts.request_line("z", {"model": "x", "messages": []})]),),
        {},
        "body.model",
        id="upload-two-models",
    ),
    pytest.param("files.upload", (facts.dump_jsonl(_lines(5001)),), {}, "file", id="upload-5001"),
    pytest.param("files.get", ("",), {}, "file_id", id="empty-file-id"),
    pytest.param("files.upload", ("/no/such/file.jsonl",), {}, "file", id="no-such-path"),
    pytest.param("files.upload", (io.StringIO("{}"),), {}, "file", id="text-mode-file"),
    pytest.param(
        "batches.create",
        (),
        {"input_file_id": "file-x", "completion_window": "700h"},
        "completion_window",
        id="window-too-long",
    ),
    pytest.param(
        "batches.create",
        (),
        {"input_file_id": "file-x", "completion_window": "30m"},
        "completion_window",
        id="window-not-hours",
    ),
    pytest.param(
        "batches.create",
        (),
        {"input_file_id": "file-x", "metadata": {str(i): "v" for i in range(17)}},
        "metadata",
        id="17-metadata-pairs",
    ),
    pytest.param(
        "batches.create",
        (),
        {"input_file_id": "file-x", "endpoint": "/v2/embeddings"},
        "endpoint",
        id="endpoint",
    ),
    pytest.param("batches.create", (), {"input_file_id": ""}, "input_file_id", id="no-file"),
    pytest.param("batches.cancel", (" ",), {}, "batch_id", id="blank-batch-id"),
    pytest.param("batches.wait", ("infer-x",), {"poll_interval": 0}, "poll_interval", id="poll"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "field"), BAD_CALLS)
async def test_bad_calls_are_refused_before_the_network(
    chat: ChatCompletion,
    server: LocalServer,
    call: Runner,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    field: str,
) -> None:
    group, name = method.split(".")
    with pytest.raises(InvalidRequestError) as caught:
        await call(getattr(chat, group), name, *args, **kwargs)
    assert caught.value.field == field
    assert v2_requests(server) == []


async def test_a_v1_client_is_told_batches_are_v2(server: LocalServer, call: Runner) -> None:
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as v1:
        with pytest.raises(InvalidRequestError) as caught:
            await call(v1.batches, "list")
    assert caught.value.field == "version"


@pytest.mark.parametrize(
    ("text", "status", "finished"),
    [
        ("Running", BatchStatus.RUNNING, False),
        ("Stopping", BatchStatus.STOPPING, False),
        ("Done", BatchStatus.DONE, True),
        ("Stopped", BatchStatus.STOPPED, True),
        ("Failed", BatchStatus.FAILED, True),
        ("Expired", BatchStatus.EXPIRED, True),
        ("running", BatchStatus.RUNNING, False),
        ("DONE", BatchStatus.DONE, True),
        ("in_progress", BatchStatus.RUNNING, False),
        ("validating", BatchStatus.RUNNING, False),
        ("completed", BatchStatus.DONE, True),
        ("cancelling", BatchStatus.STOPPING, False),
        ("cancelled", BatchStatus.STOPPED, True),
        ("expired", BatchStatus.EXPIRED, True),
    ],
    ids=lambda v: str(v),
)
def test_statuses_read_in_every_spelling(text: str, status: BatchStatus, finished: bool) -> None:
    batch = Batch.from_dict({"id": "infer-1", "status": text, "request_counts": {"total": 2}})
    assert batch.status is status
    assert batch.is_finished is finished
    assert batch.request_counts.total == 2


def test_an_unknown_status_is_kept_as_text() -> None:
    batch = Batch.from_dict({"id": "infer-1", "status": "Queued"})
    assert batch.status == "Queued"
    assert not batch.is_finished


BODY = {"choices": [{"message": {"role": "assistant", "content": "好"}}]}


@pytest.mark.parametrize(
    ("line", "ok", "status"),
    [
        pytest.param(
            {"custom_id": "a", "response": {"status_code": 200, "request_id": "r", "body": BODY}},
            True,
            200,
            id="openai-shape",
        ),
        pytest.param(
            {"custom_id": "a", "response": {"status_code": "200", "body": '{"choices": []}'}},
            True,
            200,
            id="body-as-text",
        ),
        pytest.param({"custom_id": "a", "body": BODY}, True, None, id="flat-body"),
        pytest.param(
            {"custom_id": "a", "response": None, "error": {"code": "x", "message": "m"}},
            False,
            None,
            id="error-only",
        ),
        pytest.param(
            {
                "custom_id": "a",
                "response": {"status_code": 429, "body": {"error": {"code": "rpm"}}},
                "error": None,
            },
            False,
            429,
            id="error-in-body",
        ),
    ],
)
def test_result_lines_read_in_every_plausible_form(
    line: dict[str, Any], ok: bool, status: int | None
) -> None:
    read = facts.read_result_line(line)
    assert read is not None
    result = BatchResult(read.custom_id, read.status_code, read.request_id, read.body, read.error)
    assert result.ok is ok
    assert result.status_code == status


async def test_iam_keys_mint_the_bearer_key_for_batches(server: LocalServer, call: Runner) -> None:
    """The same auth plan as chat: IAM keys mint one short-term v2 key, used by every call."""
    with ChatCompletion(
        version=2,
        access_key=IAM_AK,
        secret_key=IAM_SK,
        base_url=server.base_url,
        iam_base_url=server.base_url,
    ) as chat:
        batch = await call(chat.batches, "submit", three_requests())
        assert (await call(chat.batches, "get", batch.id)).id == batch.id
    minted = [r for r in server.requests() if r["path"] == "/v1/BCE-BEARER/token"]
    assert len(minted) == 1


async def test_a_refused_key_is_a_typed_error_without_the_key(
    serve_v2_key: LocalServer, call: Runner
) -> None:
    secret = "bce-v3/ALTAK-wrong/0123456789abcdef0123456789abcdef01234567"
    with ChatCompletion(version=2, api_key=secret, base_url=serve_v2_key.base_url) as chat:
        with pytest.raises(AuthenticationError) as caught:
            await call(chat.files, "list")
    assert caught.value.error_code == "invalid_iam_token"
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


@pytest.fixture
def serve_v2_key() -> Iterator[LocalServer]:
    with LocalServer(api_keys=["bce-v3/ALTAK-right/0123456789abcdef0123456789abcdef01234567"]) as s:
        yield s


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_server_errors_are_retried_as_chat_does(mode: str) -> None:
    """The local server cannot fail a file call on purpose (faults act on chat): a transport
    that answers 503 once stands in for it."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if len(seen) == 1:
            body = {"error": {"code": "internal_error", "message": "busy", "type": "server"}}
            return httpx.Response(503, json=body)
        return httpx.Response(200, json={"id": "infer-1", "status": "Running"})

    transport = httpx.MockTransport(answer)
    http: Any = httpx.Client(transport=transport) if mode == "sync" else None
    http = http or httpx.AsyncClient(transport=transport)

    async def get(retry_count: int) -> Batch:
        chat = ChatCompletion(
            version=2,
            api_key="k",
            base_url="http://127.0.0.1:9",
            retry_count=retry_count,
            http_client=http,
        )
        if mode == "sync":
            return await asyncio.to_thread(chat.batches.get, "infer-1")
        return await chat.batches.aget("infer-1")

    batch = await get(1)
    assert batch.status is BatchStatus.RUNNING
    assert seen == ["GET /v2/batches/infer-1"] * 2
    seen.clear()
    with pytest.raises(ServerError):
        await get(0)
    assert len(seen) == 1


def test_results_are_joined_in_input_order_whatever_the_files_order() -> None:
    """Qianfan may write results in any order [doc]; the local server writes them in order, so
    a transport serving shuffled files stands in for it."""
    inputs = facts.dump_jsonl(_lines(4))  # r0 r1 r2 r3
    output = facts.dump_jsonl(
        [
            facts.result_line(c, status_code=200, request_id="q", body=BODY, error=None, line_id=c)
            for c in ("r3", "r0")
        ]
    )
    errors = facts.dump_jsonl(
        [{"custom_id": "r1", "response": {"status_code": 400}, "error": {"code": "bad"}}]
    )
    files = {"/v2/files/in/content": inputs, "/v2/files/out/content": output}
    files["/v2/files/err/content"] = errors
    batch = {"id": "infer-1", "status": "Done", "input_file_id": "in"}
    batch |= {"output_file_id": "out", "error_file_id": "err"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path in files:
            return httpx.Response(200, content=files[request.url.path])
        return httpx.Response(200, json=batch)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    chat = ChatCompletion(version=2, api_key="k", base_url="http://127.0.0.1:9", http_client=http)
    results = chat.batches.results("infer-1")
    assert [(r.custom_id, r.ok) for r in results] == [
        ("r0", True),
        ("r1", False),
        ("r2", False),
        ("r3", True),
    ]
    assert results[1].error == {"code": "bad"}
    assert results[2].error is not None
    assert results[2].error["code"] == "no_result"
    assert results[3].text == "好"
