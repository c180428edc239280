"""The v2 (OpenAI-compatible) wire shapes as pure functions: the error body, the reply, the
stream's chunks and usage. No I/O; :mod:`.v2` sends what these build.

Source: ``shared/docs/protocol-v2.md`` ("Reply", "Stream", "Errors"). Where the spec leaves a
detail open, the OpenAI reading is taken:

* a stream's first chunk carries ``delta: {"role": "assistant", "content": ""}`` and is the only
  one with ``role``; then ``reasoning_content`` pieces (reasoning models), ``content`` pieces,
  or per tool call one chunk with ``{index, id, type, function: {name, arguments: ""}}``
  followed by at least two ``{index, function: {arguments}}`` pieces; then a chunk with an
  empty ``delta`` and the ``finish_reason`` (null on every chunk before it);
* ``stream_options.include_usage``: one more chunk with ``choices: []`` and the usage; every
  other chunk has ``usage: null``. Baidu's ``chunk_include_usage``: running usage (the
  completion so far) on every chunk instead of null;
* ``[DONE]`` ends the stream (sent by the route, not built here).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .._protocol.tokens import estimate_tokens
from .engine import split_text

_FINISH = {"end": "stop", "stop": "stop", "calls": "tool_calls", "length": "length"}


def finish_reason(neutral: str, custom: str | None = None) -> str:
    """The v2 ``finish_reason`` for the engine's neutral one (a rule's own value wins)."""
    return custom or _FINISH[neutral]


def error_body(code: str, message: str, kind: str, rid: str) -> dict[str, Any]:
    """``{"error": {"code", "message", "type"}, "id"}`` (sent with a real 4xx/5xx status)."""
    return {"error": {"code": code, "message": message, "type": kind}, "id": rid}


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"search_tokens": 0, "cached_tokens": 0},
    }


@dataclass(frozen=True)
class Call:
    """One tool call as the reply carries it: ``arguments`` is JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """What one v2 reply says, whole or streamed. ``pieces`` are the content's stream pieces
    (joined they give ``text``); ``flag``/``ban_round`` are the safety fields of the choice."""

    text: str
    pieces: tuple[str, ...]
    reasoning: str
    calls: tuple[Call, ...]
    finish: str
    flag: int = 0
    ban_round: int = -1

    @property
    def completion_tokens(self) -> int:
        spent = estimate_tokens(self.text) + estimate_tokens(self.reasoning)
        return spent + sum(estimate_tokens(c.name + c.arguments) for c in self.calls)


def message(answer: Answer) -> dict[str, Any]:
    """The choice's ``message``: tool-call replies have ``content: ""`` (protocol-v2.md)."""
    out: dict[str, Any] = {"role": "assistant", "content": "" if answer.calls else answer.text}
    if answer.reasoning:
        out["reasoning_content"] = answer.reasoning
    if answer.calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in answer.calls
        ]
    return out


def completion(head: dict[str, Any], answer: Answer, prompt_tokens: int) -> dict[str, Any]:
    """The whole reply (``object: chat.completion``); ``head`` has id, created and model."""
    return {
        "id": head["id"],
        "object": "chat.completion",
        "created": head["created"],
        "model": head["model"],
        "choices": [
            {
                "index": 0,
                "message": message(answer),
                "finish_reason": answer.finish,
                "flag": answer.flag,
                "ban_round": answer.ban_round,
            }
        ],
        "usage": usage(prompt_tokens, answer.completion_tokens),
    }


def split_arguments(arguments: str, max_chars: int) -> list[str]:
    """Argument pieces: at least two (when there are two characters), each at most
    ``max_chars`` long, so a client must accumulate them."""
    if len(arguments) < 2:
        return [arguments]
    count = max(2, math.ceil(len(arguments) / max(max_chars, 1)))
    size = math.ceil(len(arguments) / count)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _deltas(answer: Answer, chunk_chars: int) -> Iterator[tuple[dict[str, Any], str]]:
    """Each chunk's delta, with the completion text it adds (for running usage)."""
    yield {"role": "assistant", "content": ""}, ""
    if answer.reasoning:
        for piece in split_text(answer.reasoning, chunk_chars):
            yield {"reasoning_content": piece}, piece
    if not answer.calls:
        for piece in answer.pieces:
            if piece:
                yield {"content": piece}, piece
    for index, call in enumerate(answer.calls):
        head = {"index": index, "id": call.id, "type": "function"}
        yield (
            {"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]},
            (call.name),
        )
        for piece in split_arguments(call.arguments, chunk_chars):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, piece


def chunks(
    head: dict[str, Any],
    answer: Answer,
    prompt_tokens: int,
    *,
    chunk_chars: int,
    include_usage: bool,
    running_usage: bool,
) -> list[dict[str, Any]]:
    """Every chunk of the streamed reply, in order, without the final ``[DONE]``."""
    base = {
        "id": head["id"],
        "object": "chat.completion.chunk",
        "created": head["created"],
        "model": head["model"],
    }
    out: list[dict[str, Any]] = []
    sent: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {
            "index": 0,
            "delta": delta,
            "finish_reason": finish,
            "flag": answer.flag,
            "ban_round": answer.ban_round,
        }
        running = usage(prompt_tokens, estimate_tokens("".join(sent))) if running_usage else None
        return {**base, "choices": [choice], "usage": running}

    for delta, text in _deltas(answer, chunk_chars):
        sent.append(text)
        out.append(chunk(delta, None))
    final = chunk({}, answer.finish)
    if running_usage:  # The last choice chunk's running usage is the reply's usage.
        final["usage"] = usage(prompt_tokens, answer.completion_tokens)
    out.append(final)
    if include_usage:
        out.append({**base, "choices": [], "usage": usage(prompt_tokens, answer.completion_tokens)})
    return out


def content_pieces(text: str, scripted: Sequence[str] | None, chunk_chars: int) -> tuple[str, ...]:
    """The content's stream pieces: a rule's scripted chunks, else sentences (as v1)."""
    if scripted is not None:
        return tuple(scripted)
    return tuple(split_text(text, chunk_chars))
