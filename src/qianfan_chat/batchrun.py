"""The engine of ``qianfan-chat batch run``: many conversations, streamed, resumable.

Importable without click or rich; the command line (``cli/batch.py``) is a thin shell over it.
Like :mod:`qianfan_chat.testing` it uses the client only through the package's public names.

The pieces, in the order a run uses them:

* :func:`parse_line` turns one input line into an :class:`Item` (or raises :class:`BadLine`):
  a prompt string (a JSON string, or any text that is not JSON), a list of messages, or an
  object with ``messages`` (or ``prompt``), an optional ``id`` / ``custom_id`` (default: the
  line number) and per-line parameters (over the run's ``-p``); a ready batch request line
  (``custom_id`` + ``body``) is read too, so ``batch submit`` and ``batch run`` take one file.
* :func:`scan` is the first streaming pass: it checks every line before anything is sent and
  counts the work (memory: one set of ids, never the lines).
* :func:`recover` prepares ``--resume``: it keeps the first ``ok`` line of every id and drops
  the rest (failed lines, which are redone, and the torn last line ``kill -9`` can leave),
  rewriting the file atomically (a temporary file and ``os.replace``) when anything is dropped.
* :func:`run` is the second pass: at most ``workers`` calls in flight over
  ``ChatCompletion.ado``, the lines read as they are needed, each result appended as ONE
  ``os.write`` of one whole line (so a crash never tears a line in the middle of the file).
  Lines are written in input order: a result is written as soon as it and every line before it
  have finished; at most ``window`` lines are between the oldest unwritten one and the newest
  started one, so memory stays flat however long the file is.
* :class:`Stats` counts what happened and formats the progress line and the summary.

Why the file needs no compaction at the end: :func:`recover` runs *before* a resumed run, so
the file then holds only ``ok`` lines, one per id, and the run appends each remaining id once.
After any sequence of runs, kills and resumes the file has every id at most once, and exactly
once (all ``ok``) when the last resume ends with exit 0. (Only a run without ``--resume``, or
a failed id redone by the next resume, ever leaves a line that a resume drops.)

Output line (one per input id)::

    {"id": 7, "status": "ok", "result": "...", "usage": {...}, "attempts": 1}
    {"id": 7, "status": "ok", "result": "...", "choices": [...], "usage": {...}, "attempts": 1}
    {"id": 7, "status": "error", "error": {"code": 336003, "message": "...",
     "request_id": "..."}, "attempts": 1}

(v1 gives ``result`` and, for a function call, ``function_call``; v2 gives ``choices`` and,
for convenience and to match v1, ``result``: the first choice's text.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from . import (
    APIConnectionError,
    ChatCompletion,
    QfResponse,
    QianfanError,
    RateLimitError,
    ServerError,
    cost_of,
)

DEFAULT_WORKERS = 8
# After Ctrl-C, calls already in flight get this long to finish (then they are cancelled and
# redone by the next --resume); a second Ctrl-C cancels them at once.
DEFAULT_GRACE_SECONDS = 10.0
# Without a terminal, one progress line every this many seconds.
DEFAULT_PROGRESS_SECONDS = 10.0
# Lines between the oldest unwritten result and the newest started call: per worker, at least.
WINDOW_PER_WORKER = 4
MIN_WINDOW = 64
# At most this many bad lines are listed; the rest are counted.
MAX_BAD_LISTED = 20
EXIT_INTERRUPTED = 130

_ITEM_KEYS = ("id", "custom_id", "messages", "prompt")

# Prices: model name -> (CNY per 1k prompt tokens, CNY per 1k completion tokens), over the
# library's own (``qianfan_chat.cost_of``: a fetched /v2/models catalogue, else its built-in
# table). A model priced by neither is counted as "unknown" in the summary.
PRICES: dict[str, tuple[float, float]] = {}


class BadLine(ValueError):
    """An input line that cannot be run; ``number`` is its 1-based line number."""

    def __init__(self, number: int, reason: str) -> None:
        self.number = number
        self.reason = reason
        super().__init__(f"line {number}: {reason}")


@dataclass(frozen=True)
class Item:
    """One conversation to run: its id, messages, and parameters (over the run's own)."""

    number: int
    id: str | int
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    explicit_id: bool = False
    ready: Mapping[str, Any] | None = None  # a ready batch request line, as read

    @property
    def key(self) -> str:
        return id_key(self.id)


def id_key(value: Any) -> str:
    """The id as compared across runs (so the id ``1`` and the id ``"1"`` stay apart)."""
    return json.dumps(value, ensure_ascii=False)


def _messages(value: Any, number: int, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise BadLine(number, f"{where} must be a non-empty list of messages")
    for index, message in enumerate(value):
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or not role:
            raise BadLine(number, f"{where}[{index}] must be an object with a string role")
    return value


def _prompt(value: Any, number: int) -> list[dict[str, Any]]:
    if not isinstance(value, str) or not value.strip():
        raise BadLine(number, "a prompt must be a non-empty string")
    return [{"role": "user", "content": value}]


def parse_line(text: str, number: int) -> Item | None:
    """One input line as an :class:`Item`; None for a blank line; :class:`BadLine` else."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        value: Any = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped[0] in '{["':
            raise BadLine(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        value = text.rstrip("\r\n")  # a plain-text prompt
    if isinstance(value, str):
        return Item(number, number, _prompt(value, number), {})
    if isinstance(value, list):
        return Item(number, number, _messages(value, number, "messages"), {})
    if not isinstance(value, dict):
        raise BadLine(
            number, 'expected a prompt, a list of messages or {"messages": [...]} / {"prompt"}'
        )
    ready = None
    if isinstance(value.get("body"), dict) and "custom_id" in value:
        ready, source = value, dict(value["body"])
        params = {k: v for k, v in source.items() if k != "messages"}
    else:
        source = value
        params = {k: v for k, v in value.items() if k not in _ITEM_KEYS}
    if "messages" in source:
        messages = _messages(source["messages"], number, "messages")
    elif "prompt" in source and ready is None:
        messages = _prompt(source["prompt"], number)
    else:
        raise BadLine(number, 'an object needs "messages" (or "prompt")')
    if params.get("stream"):
        raise BadLine(number, "stream is not supported in a batch run")
    params.pop("stream", None)
    explicit = "id" in value or "custom_id" in value
    ident = value.get("id", value.get("custom_id", number))
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        raise BadLine(number, "id / custom_id must be a non-empty string or an integer")
    return Item(number, ident, messages, params, explicit, ready)


def read_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of a text stream, one line in memory at a time."""
    yield from enumerate(stream, 1)


@dataclass
class Scan:
    """What the first pass found: lines to run, lines skipped as done, bad lines."""

    items: int = 0
    todo: int = 0
    done_before: int = 0
    bad: int = 0
    bad_listed: list[BadLine] = field(default_factory=list)

    def report(self) -> list[str]:
        lines = [str(b) for b in self.bad_listed]
        if self.bad > len(self.bad_listed):
            lines.append(f"... and {self.bad - len(self.bad_listed)} more bad lines")
        return lines


def scan(stream: IO[str], done: set[str] | frozenset[str] = frozenset()) -> Scan:
    """Check every line (and that no id repeats); count the items not in ``done``."""
    result = Scan()
    seen: set[str] = set()
    for number, text in read_lines(stream):
        try:
            item = parse_line(text, number)
            if item is None:
                continue
            if item.key in seen:
                raise BadLine(number, f"id {item.id!r} is used by an earlier line")
        except BadLine as bad:
            result.bad += 1
            if len(result.bad_listed) < MAX_BAD_LISTED:
                result.bad_listed.append(bad)
            continue
        seen.add(item.key)
        result.items += 1
        if item.key in done:
            result.done_before += 1
        else:
            result.todo += 1
    return result


def items(stream: IO[str], done: set[str] | frozenset[str] = frozenset()) -> Iterator[Item]:
    """The second pass: the good items not in ``done``, read as they are needed."""
    seen: set[str] = set()
    for number, text in read_lines(stream):
        try:
            item = parse_line(text, number)
        except BadLine:
            continue  # reported (or refused) by scan
        if item is None or item.key in seen:
            continue
        seen.add(item.key)
        if item.key not in done:
            yield item


# -- the output file ----------------------------------------------------------------------


@dataclass
class Recovered:
    """What :func:`recover` kept and dropped of an existing output file."""

    ok: set[str] = field(default_factory=set)
    dropped_failed: int = 0
    dropped_torn: int = 0
    dropped_other: int = 0

    @property
    def rewritten(self) -> bool:
        return bool(self.dropped_failed or self.dropped_torn or self.dropped_other)


def recover(path: str) -> Recovered:
    """Keep the first ``ok`` line of each id in ``path``; drop failed, torn and repeated lines.

    A line is torn when it does not end in a newline (``kill -9`` in the middle of a write) or
    is not a JSON object with an ``id``. The file is rewritten through a temporary file in the
    same directory and ``os.replace``, so a crash during recovery leaves the old file whole.
    """
    found = Recovered()
    if not os.path.exists(path):
        return found
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".batch-resume-", dir=folder)
    try:
        with open(path, "rb") as source, os.fdopen(fd, "wb") as target:
            for raw in source:
                record = _record(raw)
                if record is None:
                    found.dropped_torn += 1
                    continue
                key = id_key(record["id"])
                if record.get("status") != "ok":
                    found.dropped_failed += 1
                elif key in found.ok:
                    found.dropped_other += 1
                else:
                    found.ok.add(key)
                    target.write(raw)
            target.flush()
            os.fsync(target.fileno())
        if found.rewritten:
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return found


def _record(raw: bytes) -> dict[str, Any] | None:
    if not raw.endswith(b"\n"):
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "id" in record else None


class LineWriter:
    """Appends whole lines to a file descriptor, each with one ``os.write`` (looping only if
    the kernel takes part of it) and no buffering, so a finished result is on disk at once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: str, *, append: bool) -> LineWriter:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        return cls(os.open(path, flags, 0o644))

    def write(self, record: Mapping[str, Any]) -> None:
        data = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        os.close(self.fd)


# -- one result ---------------------------------------------------------------------------


def ok_record(ident: Any, body: Mapping[str, Any], attempts: int | None) -> dict[str, Any]:
    """An ``ok`` output line from a reply body (v1 ``result`` / ``function_call``; v2
    ``choices``, with ``result`` its first choice's text)."""
    out: dict[str, Any] = {"id": ident, "status": "ok", "result": body.get("result")}
    choices = body.get("choices")
    if isinstance(choices, list):
        out["choices"] = choices
        first = choices[0] if choices and isinstance(choices[0], Mapping) else {}
        message = first.get("message") or {}
        out["result"] = message.get("content") if isinstance(message, Mapping) else None
    if body.get("function_call"):
        out["function_call"] = body["function_call"]
    out["usage"] = body.get("usage")
    out["attempts"] = attempts
    return out


def error_record(
    ident: Any,
    code: Any,
    message: str,
    request_id: str | None,
    attempts: int | None,
) -> dict[str, Any]:
    error = {"code": code, "message": message, "request_id": request_id}
    return {"id": ident, "status": "error", "error": error, "attempts": attempts}


def _error_code(exc: BaseException) -> Any:
    code = getattr(exc, "error_code", None)
    return code if code is not None else type(exc).__name__


def _failed_attempts(exc: BaseException, retry_count: int) -> int:
    """Attempts behind a failure: the client retries only these classes, all of them."""
    retryable = (RateLimitError, ServerError, APIConnectionError)
    return retry_count + 1 if isinstance(exc, retryable) else 1


# -- counting -----------------------------------------------------------------------------


@dataclass
class Stats:
    """Counts of one run, and its progress line and summary."""

    total: int = 0
    done_before: int = 0
    ok: int = 0
    failed: int = 0
    failed_by_code: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0  # failures whose error was a rate limit
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_unknown: int = 0  # ok items whose model has no known price
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    interrupted: bool = False

    @property
    def finished(self) -> int:
        return self.ok + self.failed

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Finished calls per second."""
        return self.finished / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        left = self.total - self.finished
        return left / self.rate if self.rate > 0 else None

    def count(self, record: Mapping[str, Any], model: str | None = None) -> None:
        if record["status"] == "ok":
            self.ok += 1
            usage = record.get("usage") or {}
            price = _price(model, usage) if isinstance(usage, Mapping) else None
            if price is None:
                self.cost_unknown += 1
            else:
                self.cost += price
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = usage.get(name) if isinstance(usage, Mapping) else None
                if isinstance(value, int):
                    setattr(self, name, getattr(self, name) + value)
        else:
            self.failed += 1
            self.failed_by_code[str(record["error"]["code"])] += 1

    def progress_line(self) -> str:
        eta = "?" if self.eta is None else _duration(self.eta)
        return (
            f"batch: {self.finished}/{self.total} done, {self.failed} failed, "
            f"{self.rate * 60:.0f}/min, ETA {eta}, {self.total_tokens} tokens"
        )

    def cost_line(self) -> str:
        if self.ok and self.cost_unknown == self.ok:
            return "cost: unknown (no price for the model)"
        unknown = f" (+ {self.cost_unknown} items of unknown price)" if self.cost_unknown else ""
        return f"cost: {self.cost:.4f} CNY{unknown}"

    def summary(self) -> list[str]:
        minutes = self.elapsed / 60
        rpm = self.finished / minutes if minutes > 0 else 0.0
        tpm = self.total_tokens / minutes if minutes > 0 else 0.0
        lines = [
            f"done: {self.ok} ok, {self.failed} failed"
            + (f" ({self.done_before} ok before this run)" if self.done_before else "")
            + (f", {self.total - self.finished} not run (interrupted)" if self.interrupted else ""),
        ]
        if self.failed_by_code:
            by_code = ", ".join(f"{c}: {n}" for c, n in self.failed_by_code.most_common())
            lines.append(f"failed by error code: {by_code}")
        lines += [
            f"tokens: {self.total_tokens} ({self.prompt_tokens} prompt, "
            f"{self.completion_tokens} completion)",
            self.cost_line(),
            f"wall time: {_duration(self.elapsed)}",
            f"achieved: {rpm:.0f} RPM, {tpm:.0f} TPM",
        ]
        return lines


def _price(model: str | None, usage: Mapping[str, Any]) -> Decimal | None:
    if not model:
        return None
    own = PRICES.get(model)
    if own is not None:
        prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        return (Decimal(str(own[0])) * prompt + Decimal(str(own[1])) * completion) / 1000
    return cost_of(model, usage)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s" if hours else f"{minutes}m{rest:02d}s"


# -- the run ------------------------------------------------------------------------------


@dataclass
class Options:
    """How a run goes: concurrency, the parameters of every call, Ctrl-C and progress."""

    workers: int = DEFAULT_WORKERS
    params: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    grace: float = DEFAULT_GRACE_SECONDS
    progress_every: float = DEFAULT_PROGRESS_SECONDS
    on_progress: Callable[[Stats], None] | None = None
    handle_sigint: bool = True

    @property
    def window(self) -> int:
        return max(MIN_WINDOW, self.workers * WINDOW_PER_WORKER)


def _call_args(item: Item, options: Options, version: int) -> tuple[list[Any], dict[str, Any]]:
    params = {**options.params, **item.params}
    messages: list[Any] = item.messages
    system = params.pop("system", None) or options.system
    if system:
        if version == 1:
            params["system"] = system
        elif not any(m.get("role") == "system" for m in messages):
            messages = [{"role": "system", "content": system}, *messages]
    return messages, params


async def _one(
    client: ChatCompletion, item: Item, options: Options
) -> tuple[dict[str, Any], str | None]:
    messages, params = _call_args(item, options, client.version)
    model = params.get("model") or client.model
    return await _call(client, item, messages, params), model


async def _call(
    client: ChatCompletion, item: Item, messages: list[Any], params: dict[str, Any]
) -> dict[str, Any]:
    try:
        reply = await client.ado(messages, **params)
    except QianfanError as exc:
        text = getattr(exc, "error_msg", None) or str(exc)
        attempts = _failed_attempts(exc, client.retry_count)
        request_id = getattr(exc, "request_id", None)
        return error_record(item.id, _error_code(exc), text, request_id, attempts)
    except Exception as exc:  # one bad item must not end the run
        return error_record(item.id, type(exc).__name__, str(exc), None, 1)
    assert isinstance(reply, QfResponse)
    statistic = reply.statistic if isinstance(reply.statistic, Mapping) else {}
    return ok_record(item.id, reply.body, statistic.get("attempts"))


async def arun(
    client: ChatCompletion,
    work: Iterator[Item],
    write: Callable[[Mapping[str, Any]], None],
    stats: Stats,
    options: Options,
) -> Stats:
    """Run ``work`` with at most ``options.workers`` calls in flight; write each result.

    On SIGINT (when ``options.handle_sigint``): no new item starts, the calls in flight get
    ``options.grace`` seconds, every finished result is written, and ``stats.interrupted`` is
    set. A second SIGINT cancels what is still in flight.
    """
    loop = asyncio.get_running_loop()
    stop, hard = asyncio.Event(), asyncio.Event()

    def interrupt() -> None:
        (hard if stop.is_set() else stop).set()

    installed = False
    if options.handle_sigint:
        try:
            loop.add_signal_handler(signal.SIGINT, interrupt)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signals here: Ctrl-C raises as usual
    ticker = asyncio.ensure_future(_tick(stats, options))
    inflight: dict[asyncio.Future[Any], int] = {}
    finished: dict[int, dict[str, Any]] = {}
    started = written = 0

    def collect(done: set[Any]) -> None:
        for task in done:
            if task in inflight:
                seq = inflight.pop(task)
                finished[seq], model = task.result()
                stats.count(finished[seq], model)

    def flush(*, all_: bool = False) -> None:
        nonlocal written
        while written in finished:
            write(finished.pop(written))
            written += 1
        if all_:
            for seq in sorted(finished):
                write(finished.pop(seq))

    stop_wait: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    hard_wait: asyncio.Future[Any] = asyncio.ensure_future(hard.wait())
    try:
        exhausted = False
        while True:
            while (
                not exhausted
                and not stop.is_set()
                and len(inflight) < options.workers
                and started - written < options.window
            ):
                item = next(work, None)
                if item is None:
                    exhausted = True
                    break
                inflight[asyncio.ensure_future(_one(client, item, options))] = started
                started += 1
            if not inflight or stop.is_set():
                break
            done, _ = await asyncio.wait(
                [*inflight, stop_wait], return_when=asyncio.FIRST_COMPLETED
            )
            collect(done)
            flush()
        if stop.is_set():
            stats.interrupted = True
            deadline = loop.time() + options.grace
            while inflight and not hard.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                done, _ = await asyncio.wait(
                    [*inflight, hard_wait], timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                collect(done)
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
            inflight.clear()
        flush(all_=True)
    finally:
        for waiter in (stop_wait, hard_wait, ticker):
            waiter.cancel()
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        stats.ended = time.monotonic()
        if options.on_progress is not None:
            options.on_progress(stats)
    return stats


async def _tick(stats: Stats, options: Options) -> None:
    if options.on_progress is None or options.progress_every <= 0:
        return
    while True:
        await asyncio.sleep(options.progress_every)
        options.on_progress(stats)


def run(
    client: ChatCompletion,
    work: Iterator[Item],
    write: Callable[[Mapping[str, Any]], None],
    stats: Stats,
    options: Options,
) -> Stats:
    """:func:`arun` on a new event loop, closing the client's async pool at the end."""

    async def main() -> Stats:
        try:
            return await arun(client, work, write, stats, options)
        finally:
            await client.aclose()

    return asyncio.run(main())


__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "DEFAULT_PROGRESS_SECONDS",
    "DEFAULT_WORKERS",
    "EXIT_INTERRUPTED",
    "PRICES",
    "BadLine",
    "Item",
    "LineWriter",
    "Options",
    "Recovered",
    "Scan",
    "Stats",
    "arun",
    "error_record",
    "id_key",
    "items",
    "ok_record",
    "parse_line",
    "recover",
    "run",
    "scan",
]
