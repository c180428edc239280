"""The v2 batch-inference API of the local server (``{v2_prefix}/batches``), emulated over the
same reply engine as live chat (``shared/docs/protocol-v2-extensions.md`` section 5).

======================================== ===================================================
``POST {v2}/batches``                    ``{input_file_id, endpoint, completion_window,
                                         metadata, replace}``: the batch object, ``Running``
``GET  {v2}/batches``                    ``?after=&limit=``: an OpenAI list (the real
                                         envelope is unverified)
``GET  {v2}/batches/{id}``               the batch object
``POST {v2}/batches/{id}/cancel``        ``Stopping``, then ``Stopped`` once the current
                                         line is answered (a finished job is answered as
                                         it is)
======================================== ===================================================

A job runs in the background on the server's event loop: each line goes through the checks of
``POST /v2/chat/completions`` (body rules, model, output and context budgets; images, reasoning
switches and web search as :mod:`.v2_extras` reads them) and the engine; a line whose request
is invalid goes to the error file, with the status and error body the live route would have
answered. Output and error lines have the OpenAI shape clients expect
``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`` (no
Qianfan sample exists). Rate limits are not applied to batch lines.

Status: ``Running`` → ``Done`` (or ``Failed`` when the input file breaks a file rule: not JSON
Lines, over 5,000 lines or 1 GB, lines of different models, a repeated ``custom_id``); cancel →
``Stopping`` → ``Stopped``; still running past ``completion_window`` → ``Expired``. Stopped
and expired jobs keep the results of the lines answered so far.

Pace: by default a job runs as fast as the engine answers (a 100-line job is ``Done`` in
milliseconds). ``ServerConfig.batch_line_seconds`` (``serve --batch-line-seconds``, ``POST
/_admin/batches``) waits that long after each line, for tests of waiting and cancelling;
``batch_hour_seconds`` is how long one hour of ``completion_window`` lasts (default 3600),
so a test can see ``Expired`` without waiting an hour.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._protocol import batches as facts
from .._protocol import wire
from .._protocol.batches import BatchStatus
from .._protocol.codes import V2_ERRORS
from .._protocol.models_v2 import MIN_OUTPUT_TOKENS
from .._protocol.rules_v2 import check_body, check_output_tokens
from .._protocol.tokens import prompt_tokens
from .auth import bearer_key
from .codemap import Code, v2_error
from .engine import EngineRequest
from .files import REQUEST_ERROR, handle_files, list_page, new_id, send_v2_error
from .v2_format import completion, error_body
from .wire import Exchange, reply_id

if TYPE_CHECKING:
    from .v2 import V2App

NOT_FOUND_BATCH = ("invalid_retrieve_batch", "batch not found")  # [unverified]: the files' form
_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
YIELD_EVERY = 32
_STAMPS = (
    "completed_at",
    "failed_at",
    "cancelling_at",
    "cancelled_at",
    "expired_at",
)  # lines between yields to the event loop when a job runs at full speed


@dataclass(frozen=True)
class BatchPace:
    """How fast jobs run: ``line_seconds`` after each line (0: as fast as the engine
    answers); ``hour_seconds``: how long an hour of ``completion_window`` lasts."""

    line_seconds: float = 0.0
    hour_seconds: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("line_seconds", "hour_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number of seconds")
        if self.hour_seconds <= 0:
            raise ValueError("hour_seconds must be > 0")

    def to_dict(self) -> dict[str, float]:
        return {"line_seconds": self.line_seconds, "hour_seconds": self.hour_seconds}


@dataclass
class Job:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    replace: dict[str, Any] | None
    created_at: float
    expires_at: float
    order: int
    status: BatchStatus = BatchStatus.RUNNING
    model: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, str] | None = None
    stamps: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        stamps = {name: self.stamps.get(name) for name in _STAMPS}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "input_file_id": self.input_file_id,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "completion_window": self.completion_window,
            "errors": self.errors,
            "status": self.status.value,
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
            "replace": self.replace,
            "created_at": int(self.created_at),
            "in_progress_at": int(self.created_at),
            "expires_at": int(self.expires_at),
            **{name: None if when is None else int(when) for name, when in stamps.items()},
        }


class BatchStore:
    """The batch jobs of one server and the pace they run at."""

    def __init__(self, pace: BatchPace) -> None:
        self.default_pace = pace
        self.pace = pace
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._count = 0

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            self._count += 1

    def get(self, batch_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(batch_id)

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.order)

    def next_order(self) -> int:
        with self._lock:
            return self._count

    def set_pace(self, **changes: float) -> BatchPace:
        self.pace = BatchPace(**{**self.pace.to_dict(), **changes})
        return self.pace

    def reset_pace(self) -> None:
        self.pace = self.default_pace

    def start(self, run: Any) -> None:
        task = asyncio.get_running_loop().create_task(run)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._jobs)


def _error(code: str, message: str | None = None) -> tuple[int, dict[str, Any]]:
    row = V2_ERRORS.get(code)
    status, kind, text = (row.status, row.type, row.message) if row else (500, "internal_error", "")
    return status, error_body(code, message or text, kind, reply_id())


def _mapped(code: Code, message: str | None = None) -> tuple[int, dict[str, Any]]:
    status, name, kind, text = v2_error(code, message)
    return status, error_body(name, text, kind, reply_id())


def answer_line(app: V2App, data: Any) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` that ``POST /v2/chat/completions`` would answer for one line's
    body (a stream is answered whole: a batch has no stream), without rate limits."""
    from .v2 import _options, engine_messages
    from .v2_extras import read_extras
    from .v2_media import MediaError, media_parts, text_view

    state = app.state
    if not isinstance(data, dict):
        return _error("malformed_json")
    parts = media_parts(data.get("messages"))  # images as on the live route (v2_media.py)
    if isinstance(parts, MediaError):
        return _error(parts.code, parts.message)
    violation = check_body(text_view(data, for_rules=True) if parts else data)
    if violation is not None:
        return _error(str(violation.code), violation.message)
    model = data.get("model")
    target = state.v2_targets.get(model) if isinstance(model, str) else None
    if target is None:
        return _mapped("invalid_model")
    violation = check_output_tokens(data, MIN_OUTPUT_TOKENS, target.max_output_tokens)
    if violation is not None:
        return _error(str(violation.code), violation.message)
    extras = read_extras(data, target.name, parts)
    if isinstance(extras, MediaError):
        return _error(extras.code, extras.message)
    messages = text_view(data, for_rules=False)["messages"] if parts else data["messages"]
    prompt = prompt_tokens(messages)
    if prompt > target.max_input_tokens:
        return _error("tokens_too_long", f"the input tokens ({prompt}) exceed the context")
    kept = engine_messages(messages)
    reply = state.engine.reply(
        EngineRequest(model=target.name, messages=kept, strict_tool_choice=True, **_options(data))
    )
    if reply.error_code is not None:
        return _mapped(reply.error_code, reply.error_msg)
    answer = app._build(extras.apply(reply), data, target, kept)
    head = {"id": reply_id(), "created": int(time.time()), "model": target.name}
    return 200, extras.completion(completion(head, answer, prompt))


async def handle_batch_api(app: V2App, ex: Exchange) -> bool:
    """Answer ``ex`` if its path is under ``{v2}/files`` or ``{v2}/batches``; False if not."""
    state = app.state
    path = ex.path
    for prefix, handler in (
        (state.v2_files_path, handle_files),
        (state.v2_batches_path, _handle_batches),
    ):
        if path == prefix or path.startswith(prefix + "/"):
            if await app.authorize(ex, bearer_key(ex.header(_AUTHORIZATION))):
                await handler(app, ex, path[len(prefix) :])
            return True
    return False


async def _handle_batches(app: V2App, ex: Exchange, rest: str) -> None:
    store = app.state.batches
    if rest in ("", "/"):
        if ex.method == "POST":
            await _create(app, ex)
        elif ex.method == "GET":
            page = list_page([j.to_dict() for j in store.all()], ex.query)
            if isinstance(page, str):
                await send_v2_error(ex, 400, "invalid_argument", page)
            else:
                await ex.send_json(page)
        else:
            await send_v2_error(ex, 405, "method_not_supported", "Only GET, POST is supported")
        return
    batch_id, _, tail = rest.lstrip("/").partition("/")
    tail = "/" + tail if tail else ""
    wanted = {"": "GET", wire.V2_BATCH_CANCEL_SEGMENT: "POST"}.get(tail)
    if wanted is None:
        await send_v2_error(ex, 404, "not_found", f"Unsupported path: {ex.method} {ex.path}")
        return
    if ex.method != wanted:
        await send_v2_error(ex, 405, "method_not_supported", f"Only {wanted} is supported")
        return
    job = store.get(batch_id)
    if job is None:
        await send_v2_error(ex, 404, *NOT_FOUND_BATCH)
        return
    if tail and job.status == BatchStatus.RUNNING:
        job.status = BatchStatus.STOPPING
        job.stamps["cancelling_at"] = time.time()
    await ex.send_json(job.to_dict())


async def _create(app: V2App, ex: Exchange) -> None:
    import json

    state = app.state
    raw = await ex.read_body(state.config.max_body_bytes)
    if raw is None:
        await send_v2_error(ex, 413, "characters_too_long", "request body too large")
        return
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        await send_v2_error(ex, 400, "malformed_json", "Malformed JSON")
        return
    violation = facts.check_create(data)
    if violation is not None:
        message = f"{violation.field}: {violation.rule}"
        await send_v2_error(ex, 400, "invalid_argument", message)
        return
    source = state.files.get(data["input_file_id"])
    if source is None:
        await send_v2_error(ex, 404, "invalid_retrieve_file", "file not found")
        return
    now = time.time()
    window = str(data.get("completion_window", facts.DEFAULT_WINDOW))
    hours = facts.window_hours(window) or 24
    replace = data.get("replace")
    job = Job(
        id=new_id(facts.BATCH_ID_PREFIX),
        input_file_id=source.id,
        endpoint=str(data.get("endpoint", wire.V2_CHAT_PATH)),
        completion_window=window,
        metadata=dict(data["metadata"]) if isinstance(data.get("metadata"), Mapping) else None,
        replace=dict(replace) if isinstance(replace, Mapping) else None,
        created_at=now,
        expires_at=now + hours * state.batches.pace.hour_seconds,
        order=state.batches.next_order(),
    )
    lines = _read_input(job, source.content)
    state.batches.add(job)
    if lines is not None:
        state.batches.start(_run(app, job, lines))
    await ex.send_json(job.to_dict())


def _read_input(job: Job, content: bytes) -> list[dict[str, Any]] | None:
    """The input lines, or None when the file breaks a file rule (the job is then Failed)."""
    try:
        lines = facts.parse_jsonl(content)
        violation = facts.check_file(lines, len(content))
        problem = f"{violation.field}: {violation.rule}" if violation is not None else None
    except ValueError as exc:
        problem = str(exc)
    if problem is not None:
        job.status = BatchStatus.FAILED
        job.errors = {"code": "invalid_input_file", "message": problem}
        job.stamps["failed_at"] = time.time()
        return None
    model = job.replace.get("model") if job.replace else None
    job.model = str(model or lines[0]["body"].get("model") or "")
    job.total = len(lines)
    return lines


async def _run(app: V2App, job: Job, lines: list[dict[str, Any]]) -> None:
    state = app.state
    outputs: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    final = BatchStatus.DONE
    for index, line in enumerate(lines):
        if job.status == BatchStatus.STOPPING:
            final = BatchStatus.STOPPED
            break
        if time.time() > job.expires_at:
            final = BatchStatus.EXPIRED
            break
        body = dict(line["body"])
        if job.replace:
            body.update(job.replace)
        body.pop("stream", None)
        body.pop("stream_options", None)
        try:
            status, reply = answer_line(app, body)
        except Exception as exc:  # A bug must not leave the job Running forever.
            status, reply = 500, error_body("internal_error", str(exc), "internal_error", "")
        custom_id = str(line["custom_id"])
        rid = reply_id()
        if status == 200:
            outputs.append(
                facts.result_line(
                    custom_id,
                    status_code=200,
                    request_id=rid,
                    body=reply,
                    error=None,
                    line_id=new_id("batch_req_"),
                )
            )
            job.completed += 1
        else:
            detail = reply.get("error", {})
            errors.append(
                facts.result_line(
                    custom_id,
                    status_code=status,
                    request_id=rid,
                    body=reply,
                    error={"code": detail.get("code"), "message": detail.get("message")},
                    line_id=new_id("batch_req_"),
                )
            )
            job.failed += 1
        pace = state.batches.pace.line_seconds
        if pace > 0:
            await asyncio.sleep(pace)
        elif index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
    if job.status == BatchStatus.STOPPING:  # A cancel after the last line still stops it.
        final = BatchStatus.STOPPED
    stem = job.id
    output = state.files.add(f"{stem}_output.jsonl", "batch_output", facts.dump_jsonl(outputs))
    job.output_file_id = output.id
    if errors:
        error_file = state.files.add(
            f"{stem}_error.jsonl", "batch_output", facts.dump_jsonl(errors)
        )
        job.error_file_id = error_file.id
    stamp = {
        BatchStatus.DONE: "completed_at",
        BatchStatus.STOPPED: "cancelled_at",
        BatchStatus.EXPIRED: "expired_at",
    }[final]
    job.stamps[stamp] = time.time()
    job.status = final


__all__ = ["REQUEST_ERROR", "BatchPace", "BatchStore", "answer_line", "handle_batch_api"]
