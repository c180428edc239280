"""``qianfan-chat chat``: the client from the terminal (``batch`` is in :mod:`.batch`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import click

from .. import ChatCompletion, Messages, QianfanError

_common = [
    click.option("--model", "-m", default=None, help="Model name (default ERNIE-Bot-turbo)."),
    click.option("--endpoint", "-e", default=None, help="A self-deployed service's endpoint."),
    click.option(
        "--base-url", default=None, help="API base URL, e.g. a local server's (QIANFAN_BASE_URL)."
    ),
    click.option("--system", "-s", default=None, help="The persona (system) text."),
    click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="A body parameter; VALUE is read as JSON when it parses (temperature=0.5).",
    ),
]


def common_options(func: Any) -> Any:
    for option in reversed(_common):
        func = option(func)
    return func


def parse_params(pairs: Iterable[str], *, system: str | None = None) -> dict[str, Any]:
    """``["temperature=0.5", "stop=[\"。\"]", "user_id=abc"]`` → a parameter dict; ``--system``
    sets the ``system`` field (over a ``system=`` pair)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--param")
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    if system:
        params["system"] = system
    return params


def _client(model: str | None, endpoint: str | None, base_url: str | None) -> ChatCompletion:
    try:
        return ChatCompletion(model=model, endpoint=endpoint, base_url=base_url)
    except QianfanError as exc:
        raise click.ClickException(str(exc)) from exc


def _say(chat: ChatCompletion, messages: Messages, stream: bool, params: dict[str, Any]) -> str:
    """Send the conversation, print the answer (as it arrives when streaming), return it."""
    if not stream:
        resp = chat.do(messages, **params)
        text = str(resp.get("result") or "")
        if resp.get("function_call"):
            text = json.dumps(resp["function_call"], ensure_ascii=False)
        click.echo(text)
        messages.append(resp)
        return text
    with chat.do(messages, stream=True, **params) as chunks:
        for chunk in chunks:
            click.echo(chunk.get("result") or "", nl=False)
            sys.stdout.flush()
    click.echo()
    messages.append({"role": "assistant", "content": chunks.text})
    return chunks.text


@click.command()
@click.argument("prompt", required=False)
@click.option("--stream/--no-stream", default=False, help="Print the answer as it arrives.")
@common_options
def chat(
    prompt: str | None,
    stream: bool,
    model: str | None,
    endpoint: str | None,
    base_url: str | None,
    system: str | None,
    params: tuple[str, ...],
) -> None:
    """Ask PROMPT and print the reply; without PROMPT, chat turn by turn (empty line or
    Ctrl-D ends). Credentials come from the QIANFAN_* variables."""
    body = parse_params(params, system=system)
    client = _client(model, endpoint, base_url)
    messages = Messages()
    try:
        if prompt is not None:
            messages.append(prompt)
            _say(client, messages, stream, body)
            return
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                click.echo(click.style("you> ", bold=True), nl=False)
            line = sys.stdin.readline()
            if not line or not line.strip():
                break
            messages.append(line.strip())
            try:
                _say(client, messages, stream, body)
            except QianfanError as exc:
                messages.pop()  # the question failed: keep the conversation valid, go on
                click.echo(click.style(f"error: {exc}", fg="red"), err=True)
    except QianfanError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        client.close()
