"""``qianfan-chat batch``: many conversations at once, online (``run``: concurrent live calls)
or offline as a Qianfan batch job (``submit``, ``status``, ``results``, ``cancel``, ``list``;
v2 files + batches, 40 % of the live price).

``run`` and ``submit`` read the same input lines (:func:`qianfan_chat.batchrun.parse_line`: a
prompt string, a list of messages, ``{"messages": [...]}`` or ``{"prompt": ...}`` with an
optional ``id`` / ``custom_id`` and per-line parameters, a plain-text prompt, or a ready
request line with ``custom_id`` and ``body``), and ``run`` and ``results`` write the same
output lines (``{"id", "status", "result", "usage", "attempts"}``, v2 adding ``choices``; a
failed item ``{"id", "status": "error", "error": {"code", "message", "request_id"},
"attempts"}``), so one file moves between an online run and an offline job unchanged.
The engine of ``run`` (streaming, resume, Ctrl-C, progress, summary) is
:mod:`qianfan_chat.batchrun`; this module only maps options and prints.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import click

import qianfan_chat.batchrun as engine

from .. import Batch, BatchInput, BatchStatus, ChatCompletion, QianfanError
from .chat import common_options, parse_params

_base_url = click.option(
    "--base-url",
    default=None,
    help="v2 API base URL, e.g. a local server's (QIANFAN_CONSOLE_API_BASE_URL).",
)


def read_items(source: TextIO) -> list[engine.Item]:
    """Every input line as an :class:`~qianfan_chat.batchrun.Item` (``submit`` holds them all:
    a batch job's file is built whole before it is uploaded)."""
    found: list[engine.Item] = []
    for number, line in engine.read_lines(source):
        try:
            item = engine.parse_line(line, number)
        except engine.BadLine as exc:
            raise click.ClickException(str(exc)) from exc
        if item is not None:
            found.append(item)
    return found


T = TypeVar("T")


def _v2_client(base_url: str | None) -> ChatCompletion:
    try:
        return ChatCompletion(version=2, base_url=base_url)
    except QianfanError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def batch() -> None:
    """Run many conversations: online now (run) or as an offline batch job (submit, status,
    results, cancel, list). Credentials come from the QIANFAN_* variables; batch jobs use the
    v2 API (QIANFAN_API_KEY)."""


@contextmanager
def _input_path(name: str) -> Iterator[str]:
    """A path to read twice: the file itself, or stdin spooled to a temporary file."""
    if name != "-":
        yield name
        return
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False) as f:
        shutil.copyfileobj(sys.stdin, f)
    try:
        yield f.name
    finally:
        os.unlink(f.name)


def _stdout_writer(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def _progress(total: int, every: float) -> Iterator[Any]:
    """A rich bar on a terminal (stderr), else one plain line every ``every`` seconds."""
    if not sys.stderr.isatty():
        yield lambda stats: click.echo(stats.progress_line(), err=True), every
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}/min"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[tokens]} tokens"),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("batch", total=total, failed=0, rate=0, tokens=0)

        def show(stats: engine.Stats) -> None:
            bar.update(
                task,
                completed=stats.finished,
                failed=stats.failed,
                rate=f"{stats.rate * 60:.0f}",
                tokens=stats.total_tokens,
            )

        yield show, 0.5


@batch.command()
@click.argument("input_file", metavar="INPUT.jsonl", default="-")
@click.option("--output", "-o", default="-", metavar="OUTPUT.jsonl", help="Output file.")
@click.option("--resume", is_flag=True, help="Skip ids already ok in OUTPUT; redo failed ones.")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=engine.DEFAULT_WORKERS,
    show_default=True,
    help="Calls in flight.",
)
@click.option("--rpm", type=click.IntRange(min=0), default=0, help="Requests per minute (0: off).")
@click.option("--tpm", type=click.IntRange(min=0), default=0, help="Tokens per minute (0: off).")
@click.option("--skip-bad-lines", is_flag=True, help="Report bad lines and run the others.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=engine.DEFAULT_GRACE_SECONDS,
    show_default=True,
    help="Ctrl-C: seconds the calls in flight get to finish.",
)
@click.option(
    "--progress-every",
    type=click.FloatRange(min=0),
    default=engine.DEFAULT_PROGRESS_SECONDS,
    show_default=True,
    help="Seconds between progress lines when stderr is not a terminal (0: none).",
)
@common_options
def run(
    input_file: str,
    output: str,
    resume: bool,
    workers: int,
    rpm: int,
    tpm: int,
    skip_bad_lines: bool,
    grace: float,
    progress_every: float,
    model: str | None,
    endpoint: str | None,
    base_url: str | None,
    system: str | None,
    params: tuple[str, ...],
) -> None:
    """Run every conversation in INPUT.jsonl now and append one JSON line per id to OUTPUT
    as it finishes (in input order). Lines: a prompt, a list of messages, or {"messages"
    (or "prompt"), "id", per-line parameters}. Exit 0: all ok; 1: some failed; 2: bad lines;
    130: interrupted (rerun with --resume to finish)."""
    body = parse_params(params)
    if resume and output == "-":
        raise click.UsageError("--resume needs an output file (-o OUTPUT.jsonl)")
    try:
        with _input_path(input_file) as path:
            if not os.path.isfile(path):
                raise click.BadParameter(f"no such file: {input_file}", param_hint="INPUT.jsonl")
            recovered = engine.recover(output) if resume else engine.Recovered()
            if recovered.rewritten:
                click.echo(
                    f"resume: dropped {recovered.dropped_failed} failed and "
                    f"{recovered.dropped_torn} torn lines of {output}; "
                    f"{len(recovered.ok)} ok kept",
                    err=True,
                )
            with open(path, encoding="utf-8") as source:
                found = engine.scan(source, recovered.ok)
            for line in found.report():
                click.echo(f"{input_file}: {line}", err=True)
            if found.bad and not skip_bad_lines:
                click.echo(
                    f"{found.bad} bad lines: nothing sent (--skip-bad-lines runs the rest)",
                    err=True,
                )
                sys.exit(2)
            try:
                client = ChatCompletion(
                    model=model,
                    endpoint=endpoint,
                    base_url=base_url,
                    request_per_minute=rpm or None,
                    token_per_minute=tpm or None,
                )
            except QianfanError as exc:
                raise click.ClickException(str(exc)) from exc
            stats = engine.Stats(total=found.todo, done_before=found.done_before)
            writer = None if output == "-" else engine.LineWriter.open(output, append=resume)
            try:
                with (
                    open(path, encoding="utf-8") as source,
                    _progress(found.todo, progress_every) as (
                        show,
                        every,
                    ),
                ):
                    options = engine.Options(
                        workers=workers,
                        params=body,
                        system=system,
                        grace=grace,
                        progress_every=every,
                        on_progress=show,
                    )
                    write = _stdout_writer if writer is None else writer.write
                    engine.run(client, engine.items(source, recovered.ok), write, stats, options)
            finally:
                if writer is not None:
                    writer.close()
                client.close()
    except KeyboardInterrupt:  # Ctrl-C before the run's own handler (while checking lines)
        click.echo("interrupted: rerun with --resume to finish", err=True)
        sys.exit(engine.EXIT_INTERRUPTED)
    for line in stats.summary():
        click.echo(line, err=True)
    if stats.interrupted:
        click.echo("interrupted: rerun with --resume to finish", err=True)
        sys.exit(engine.EXIT_INTERRUPTED)
    if stats.failed:
        sys.exit(1)


def _requests(items: list[engine.Item], model: str | None, params: dict[str, Any]) -> BatchInput:
    system = params.pop("system", None)
    requests = BatchInput(model=model)
    for item in items:
        if item.ready is not None:
            requests.add_line(item.ready)
            continue
        line = {**params, **item.params}
        messages = list(item.messages)
        persona = line.pop("system", None) or system
        if persona and not any(m.get("role") == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": persona})
        requests.add(messages, custom_id=str(item.id), **line)
    return requests


def _progress_wait(client: ChatCompletion, batch_id: str, poll: float) -> Batch:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # On stderr: stdout carries only the batch id, for scripts to capture.
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(batch_id, total=None)

        def show(b: Batch) -> None:
            counts = b.request_counts
            bar.update(
                task,
                total=counts.total or None,
                completed=counts.done,
                description=f"{b.id} {b.status}",
            )

        return client.batches.wait(batch_id, poll_interval=poll, on_progress=show)


def _fail(exc: QianfanError) -> click.ClickException:
    return click.ClickException(str(exc))


def _on_v2(base_url: str | None, operation: Callable[[ChatCompletion], T]) -> T:
    """``operation`` on a v2 client made for this command; an API error is the command's
    error message."""
    with _v2_client(base_url) as client:
        try:
            return operation(client)
        except QianfanError as exc:
            raise _fail(exc) from exc


@batch.command()
@click.argument("input_file", metavar="INPUT.jsonl", type=click.File("r", encoding="utf-8"))
@click.option("--model", "-m", default=None, help="The v2 model of every line.")
@click.option("--window", default="24h", show_default=True, help="completion_window, 1h-672h.")
@click.option("--wait", "wait_", is_flag=True, help="Wait with a progress bar until it ends.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="--wait: seconds to the first poll (then 1.5 times longer each, at most 30 s).",
)
@click.option("--system", "-s", default=None, help="The persona (system) text.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="A body field.")
@_base_url
def submit(
    input_file: TextIO,
    model: str | None,
    window: str,
    wait_: bool,
    poll: float,
    system: str | None,
    params: tuple[str, ...],
    base_url: str | None,
) -> None:
    """Upload INPUT.jsonl as a batch job and print its id (the same lines `batch run` reads).
    With --wait, show progress until it finishes; the exit code is 1 unless it is Done."""
    body = parse_params(params, system=system)
    with _v2_client(base_url) as client:
        try:
            requests = _requests(read_items(input_file), model, body)
            created = client.batches.submit(requests, completion_window=window)
            click.echo(created.id)
            if not wait_:
                return
            done = _progress_wait(client, created.id, poll)
        except QianfanError as exc:
            raise _fail(exc) from exc
    counts = done.request_counts
    click.echo(f"{done.id} {done.status}: {counts.completed} ok, {counts.failed} failed", err=True)
    if done.status != BatchStatus.DONE:
        sys.exit(1)


@batch.command()
@click.argument("batch_id", metavar="ID")
@_base_url
def status(batch_id: str, base_url: str | None) -> None:
    """Print batch ID as JSON (status, request_counts, file ids, timestamps)."""
    found = _on_v2(base_url, lambda client: client.batches.get(batch_id))
    click.echo(json.dumps(found.raw, ensure_ascii=False, indent=2))


@batch.command()
@click.argument("batch_id", metavar="ID")
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Output file."
)
@_base_url
def results(batch_id: str, output: TextIO, base_url: str | None) -> None:
    """Write batch ID's results, one JSON line per input line in input order (the lines
    `batch run` writes); the exit code is 1 if any failed."""
    lines = _on_v2(base_url, lambda client: client.batches.results(batch_id))
    failed = 0
    for line in lines:
        if line.ok:
            out = engine.ok_record(line.custom_id, line.body, None)
        else:
            error = line.error or {}
            message = str(error.get("message") or error)
            code = error.get("code")
            out = engine.error_record(line.custom_id, code, message, line.request_id, None)
            failed += 1
        output.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        sys.exit(1)


@batch.command()
@click.argument("batch_id", metavar="ID")
@_base_url
def cancel(batch_id: str, base_url: str | None) -> None:
    """Stop batch ID (Stopping, then Stopped); print its status."""
    found = _on_v2(base_url, lambda client: client.batches.cancel(batch_id))
    click.echo(f"{found.id} {found.status}")


@batch.command(name="list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@_base_url
def list_(limit: int | None, base_url: str | None) -> None:
    """List batch jobs, newest first: id, status, done/total, model."""
    found = _on_v2(base_url, lambda client: client.batches.list(limit=limit))
    for job in found:
        counts = job.request_counts
        click.echo(f"{job.id}\t{job.status}\t{counts.done}/{counts.total}\t{job.model or ''}")
