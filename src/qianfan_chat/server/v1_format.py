"""The v1 (wenxinworkshop) wire shapes as pure functions: the error body, the reply, the
stream's chunks and usage. No I/O; :mod:`.v1` sends what these build.

Source: ``shared/docs/protocol.md`` section 1. Field order is Baidu's, and tests and cassettes
compare bodies: ``id``, ``object``, ``created``; a chunk's ``sentence_id`` and ``is_end``;
``result`` and ``is_truncated``; ``need_clear_history`` (and ``ban_round`` when a safety flag
is up); ``finish_reason``; ``usage``; ``function_call`` last, when there is one. A stream's
every chunk has ``object: chat.completion`` too, and only its last carries the usage.
"""

from __future__ import annotations

from typing import Any

from .._protocol.codes import V1_MESSAGES
from .._protocol.tokens import estimate_tokens
from .engine import EngineReply, split_text

_FINISH = {"end": "normal", "stop": "stop", "calls": "function_call", "length": "length"}
_ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    """``{"error_code", "error_msg"}``, Baidu's text unless ``message`` is given."""
    return {"error_code": code, "error_msg": message or V1_MESSAGES.get(code, "")}


def finish_reason(neutral: str, custom: str | None = None) -> str:
    """The v1 ``finish_reason`` for the engine's neutral one (a rule's own value wins)."""
    return custom or _FINISH[neutral]


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_tokens(reply: EngineReply) -> int:
    """The reply's completion tokens: its function call's name and arguments, else its text.
    A v1 reply carries one call (the first scripted)."""
    call = reply.calls[0] if reply.calls else None
    return estimate_tokens(call.name + call.arguments if call else reply.text)


def function_call(reply: EngineReply) -> dict[str, str] | None:
    """The reply's ``function_call`` (the first call), or None for a text reply."""
    if not reply.calls:
        return None
    call = reply.calls[0]
    return {"name": call.name, "arguments": call.arguments, "thoughts": call.thoughts}


def _head(rid: str, created: int) -> dict[str, Any]:
    return {"id": rid, "object": "chat.completion", "created": created}


def _flags(reply: EngineReply) -> dict[str, Any]:
    """The safety fields: ``ban_round`` only when one is set (-1 when history is cleared)."""
    out: dict[str, Any] = {"need_clear_history": reply.need_clear_history}
    if reply.need_clear_history or reply.ban_round is not None:
        out["ban_round"] = reply.ban_round if reply.ban_round is not None else -1
    return out


def completion(
    reply: EngineReply, *, rid: str, created: int, usage: dict[str, int]
) -> dict[str, Any]:
    """The whole reply; a function call's reply has an empty ``result``."""
    call = function_call(reply)
    finish = finish_reason(reply.finish_reason, reply.custom_finish_reason)
    body = {
        **_head(rid, created),
        "result": "" if call else reply.text,
        "is_truncated": finish == "length",  # cut at the output limit (a rule may say so)
        **_flags(reply),
        "finish_reason": finish,
        "usage": usage,
    }
    if call is not None:
        body["function_call"] = call
    return body


def stream_pieces(reply: EngineReply, chunk_chars: int, end_empty: bool) -> list[str]:
    """The ``result`` of each chunk: one empty piece for a function call, else the rule's
    scripted chunks, else sentences of at most ``chunk_chars`` characters (and, with
    ``end_empty``, a last empty piece after the text)."""
    if reply.calls:
        return [""]
    if reply.chunks is not None:
        return list(reply.chunks) or [""]
    pieces = split_text(reply.text, chunk_chars)
    if end_empty and pieces[-1]:
        pieces.append("")
    return pieces


def chunks(
    reply: EngineReply,
    *,
    rid: str,
    created: int,
    usage: dict[str, int],
    chunk_chars: int,
    end_empty: bool,
) -> list[dict[str, Any]]:
    """Every chunk of the streamed reply, in order; the last has ``is_end``, the reply's
    ``finish_reason`` and usage (and its function call), the others ``normal`` and zero."""
    head = _head(rid, created)
    flags = _flags(reply)
    finish = finish_reason(reply.finish_reason, reply.custom_finish_reason)
    call = function_call(reply)
    pieces = stream_pieces(reply, chunk_chars, end_empty)
    out: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk = {
            **head,
            "sentence_id": index,
            "is_end": last,
            "is_truncated": last and finish == "length",
            "result": piece,
            **flags,
            "finish_reason": finish if last else "normal",
            "usage": usage if last else _ZERO_USAGE,
        }
        if last and call is not None:
            chunk["function_call"] = call
        out.append(chunk)
    return out
