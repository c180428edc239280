"""``qianfan-chat batch``: many conversations at once, online (``run``: concurrent live calls)
or offline as a Qianfan batch job (``submit``, ``status``, ``results``, ``cancel``, ``list``;
v2 files + batches, 40 % of the live price).

``run`` and ``submit`` read the same input lines (a prompt string, a list of messages,
``{"messages": [...]}``, or a plain-text prompt; ``submit`` also takes ready request lines
with ``custom_id`` and ``body``), and ``run`` and ``results`` write the same output lines
(``{"result", "usage"}``, ``{"error", "error_code"}`` for a failed item), in input order, so
one file moves between an online run and an offline job unchanged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import click

from .. import Batch, BatchInput, BatchStatus, ChatCompletion, QfResponse, QianfanError
from .chat import _client, common_options, parse_params

_base_url = click.option(
    "--base-url",
    default=None,
    help="v2 API base URL, e.g. a local server's (QIANFAN_CONSOLE_API_BASE_URL).",
)


def read_items(source: TextIO) -> list[Any]:
    """The input lines as conversations (lists of messages) or ready request lines."""
    items: list[Any] = []
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = line.rstrip("\n")
        if isinstance(item, str):
            items.append([{"role": "user", "content": item}])
        elif isinstance(item, dict) and isinstance(item.get("body"), dict) and "custom_id" in item:
            items.append(item)
        elif isinstance(item, dict) and "messages" in item:
            items.append(item["messages"])
        elif isinstance(item, list):
            items.append(item)
        else:
            raise click.ClickException(
                f'line {number}: expected a prompt, a list of messages or {{"messages": [...]}}'
            )
    return items


def output_line(body: Mapping[str, Any] | None, error: Any = None) -> dict[str, Any]:
    """One output line from a reply body (v1 ``result`` or v2 ``choices``) or an error."""
    if error is not None or not isinstance(body, Mapping):
        if isinstance(error, Mapping):
            return {"error": str(error.get("message") or error), "error_code": error.get("code")}
        # An API error's own message (not str(), which adds the code and status), so an
        # online failure reads as the same line as the job's error file gives.
        text = getattr(error, "error_msg", None) or str(error)
        return {"error": text, "error_code": getattr(error, "error_code", None)}
    out: dict[str, Any] = {"result": body.get("result"), "usage": body.get("usage")}
    function_call = body.get("function_call")
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        message = choices[0].get("message") or {}
        out["result"] = message.get("content")
        calls = message.get("tool_calls") or []
        if calls and isinstance(calls[0], Mapping):
            function_call = calls[0].get("function")
    if function_call:
        out["function_call"] = function_call
    return out


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


@batch.command()
@click.argument("jobs", type=click.File("r", encoding="utf-8"), default="-")
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Output file."
)
@click.option("--workers", "-w", type=int, default=None, help="Concurrent requests (default 8).")
@common_options
def run(
    jobs: TextIO,
    output: TextIO,
    workers: int | None,
    model: str | None,
    endpoint: str | None,
    base_url: str | None,
    system: str | None,
    params: tuple[str, ...],
) -> None:
    """Run every conversation in JOBS now (JSON Lines: a prompt string, a list of messages or
    {"messages": [...]}; plain text lines are prompts) and write one JSON result per line, in
    input order. Failed items print {"error": ...}; the exit code is 1 if any failed."""
    body = parse_params(params, system=system)
    conversations = [i for i in read_items(jobs) if isinstance(i, list)]
    with _client(model, endpoint, base_url) as client:
        results = client.batch_do(conversations, worker_num=workers, **body).results()
    failed = 0
    for result in results:
        if isinstance(result, QfResponse):
            out = output_line(result.body)
        else:
            failed += 1
            out = output_line(None, result)
        output.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        sys.exit(1)


def _requests(items: list[Any], model: str | None, params: dict[str, Any]) -> BatchInput:
    system = params.pop("system", None)
    requests = BatchInput(model=model)
    for item in items:
        if isinstance(item, dict):
            requests.add_line(item)
            continue
        messages = list(item)
        if system and not any(m.get("role") == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system})
        requests.add(messages, **params)
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
    with _v2_client(base_url) as client:
        try:
            found = client.batches.get(batch_id)
        except QianfanError as exc:
            raise _fail(exc) from exc
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
    with _v2_client(base_url) as client:
        try:
            lines = client.batches.results(batch_id)
        except QianfanError as exc:
            raise _fail(exc) from exc
    failed = 0
    for line in lines:
        out = output_line(line.body, None if line.ok else line.error)
        failed += "error" in out
        output.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        sys.exit(1)


@batch.command()
@click.argument("batch_id", metavar="ID")
@_base_url
def cancel(batch_id: str, base_url: str | None) -> None:
    """Stop batch ID (Stopping, then Stopped); print its status."""
    with _v2_client(base_url) as client:
        try:
            found = client.batches.cancel(batch_id)
        except QianfanError as exc:
            raise _fail(exc) from exc
    click.echo(f"{found.id} {found.status}")


@batch.command(name="list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@_base_url
def list_(limit: int | None, base_url: str | None) -> None:
    """List batch jobs, newest first: id, status, done/total, model."""
    with _v2_client(base_url) as client:
        try:
            found = client.batches.list(limit=limit)
        except QianfanError as exc:
            raise _fail(exc) from exc
    for job in found:
        counts = job.request_counts
        click.echo(f"{job.id}\t{job.status}\t{counts.done}/{counts.total}\t{job.model or ''}")
