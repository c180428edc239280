"""LangChain's standard content blocks for Qianfan replies, as the ``qianfan`` provider's
block translator (``langchain_core.messages.block_translators``): ``message.content_blocks``
gives a ``reasoning`` block (from ``additional_kwargs["reasoning_content"]``), the ``text``
block with web-search ``citation`` annotations (from ``^[1]^`` markers and
``response_metadata["search_results"]``) and the tool calls. ``content`` stays a string, so
code written for it keeps working; ``output_version="v1"`` puts these blocks in ``content``.

Also the outgoing side of images: LangChain's ``image`` blocks (``url``, or ``base64`` with
``mime_type``; the older ``source_type`` forms; Anthropic's ``source``) and OpenAI's
``image_url`` blocks as v2
content parts (``protocol-v2-extensions.md`` section 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types

from .._protocol import images, search

_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s)")


def citations(text: str, results: Any) -> list[types.Citation]:
    """One ``citation`` annotation per result a marker names. Its span is the text the marker
    closes (from the previous marker or sentence end), ``cited_text`` that text."""
    by_index = {r.get("index"): r for r in results or () if isinstance(r, Mapping)}
    out: list[dict[str, Any]] = []
    start = 0
    for marker in search.markers(text):
        begin = start
        for m in _SENTENCE_END.finditer(text, start, max(start, marker.start - 1)):
            begin = m.end()
        for index in marker.indices:
            result = by_index.get(index)
            if result is None:
                continue
            citation: dict[str, Any] = {
                "type": "citation",
                "start_index": begin,
                "end_index": marker.start,
                "cited_text": text[begin : marker.start],
                "extras": {"index": index, "marker": text[marker.start : marker.end]},
            }
            if result.get("url"):
                citation["url"] = str(result["url"])
            if result.get("title"):
                citation["title"] = str(result["title"])
            out.append(citation)
        start = marker.end
    return cast("list[types.Citation]", out)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text") or ""))
    return "".join(parts)


def _blocks(message: AIMessage, chunk: bool) -> list[types.ContentBlock]:
    blocks: list[dict[str, Any]] = []
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "reasoning", "reasoning": reasoning})
    text = _text_of(message.content)
    if text:
        block: dict[str, Any] = {"type": "text", "text": text}
        found = citations(text, message.response_metadata.get("search_results"))
        if found:
            block["annotations"] = list(found)
        blocks.append(block)
    # A chunk still being streamed carries call pieces; the aggregated stream (its position
    # "last") carries whole calls, as langchain-core's own parsing gives them.
    if chunk and isinstance(message, AIMessageChunk) and message.chunk_position != "last":
        for piece in message.tool_call_chunks:
            blocks.append({**piece, "type": "tool_call_chunk"})
    else:
        for call in message.tool_calls:
            blocks.append(
                {"type": "tool_call", "id": call["id"], "name": call["name"], "args": call["args"]}
            )
    return cast("list[types.ContentBlock]", blocks)


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    return _blocks(message, chunk=False)


def translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _blocks(message, chunk=True)


def register() -> None:
    from langchain_core.messages.block_translators import register_translator

    from ._convert import PROVIDER

    register_translator(PROVIDER, translate_content, translate_content_chunk)


# -- images out --------------------------------------------------------------------------------


def image_part(block: Mapping[str, Any]) -> dict[str, Any] | None:
    """The v2 ``image_url`` part of a LangChain image block, or None when it is not one."""
    kind = block.get("type")
    url: Any = None
    detail: Any = None
    if kind == images.IMAGE_URL_PART:  # OpenAI's shape
        inner = block.get(images.IMAGE_URL_PART)
        url = inner.get("url") if isinstance(inner, Mapping) else inner
        detail = inner.get("detail") if isinstance(inner, Mapping) else None
    elif kind == "image" and isinstance(block.get("source"), Mapping):  # Anthropic's shape
        source = block["source"]
        if source.get("type") == "base64" and source.get("data"):
            mime = source.get("media_type") or "image/png"
            url = f"{images.DATA_URL_PREFIX}{mime};base64,{source['data']}"
        else:
            url = source.get("url")
    elif kind == "image":
        data = block.get("base64") or (
            block.get("data") if block.get("source_type") == "base64" else None
        )
        if data:
            mime = block.get("mime_type") or "image/png"
            url = f"{images.DATA_URL_PREFIX}{mime};base64,{data}"
        else:
            url = block.get("url")
            if url is None and block.get("source_type") == "url":
                url = block.get("data")
        extras = block.get("extras")
        detail = extras.get("detail") if isinstance(extras, Mapping) else block.get("detail")
    else:
        return None
    if not isinstance(url, str) or not url:
        raise ValueError(
            "an image block needs an http(s) url, or base64 data with mime_type (v2 takes "
            "no file ids)"
        )
    inner_part: dict[str, Any] = {"url": url}
    if detail is not None:
        inner_part["detail"] = detail
    return {"type": images.IMAGE_URL_PART, images.IMAGE_URL_PART: inner_part}


def user_content(content: Any, text_of: Any) -> Any:
    """A user message's v2 content: text as one string, or parts when it has images."""
    if not isinstance(content, list):
        return text_of(content)
    if not any(
        isinstance(b, Mapping) and b.get("type") in ("image", images.IMAGE_URL_PART)
        for b in content
    ):
        return text_of(content)
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
            continue
        if not isinstance(block, Mapping):
            continue
        part = image_part(block)
        if part is not None:
            parts.append(part)
        elif block.get("type") == "text":
            parts.append({"type": "text", "text": str(block.get("text") or "")})
        else:
            text = text_of([block])  # the text converter's rules for every other block
            if text:
                parts.append({"type": "text", "text": text})
    return parts
