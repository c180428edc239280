"""The shapes of a message's ``content``: a string, or (v2) a list of ``{"type": "text",
"text": ...}`` parts. Read by the v2 rules, the token count and the local server's engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_INF = float("inf")


def content_text(content: Any) -> str | None:
    """The text of a message's content: a string, or a list of text parts joined; None when
    it is neither (a part that is not a text part makes the whole list unreadable as text)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # v2 chat takes text only (protocol-v2.md): every part must be a text part.
        texts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type", "text") != "text":
                return None
            text = part.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        return "".join(texts)
    return None


MAX_DEPTH = 64  # JSON nesting a body may have; far beyond any chat request's real shape.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _safe(value: Any, depth: int) -> bool:
    # The fast pass: no paths are built until something is found.
    kind = type(value)
    if kind is str:
        return value.isascii() or not _SURROGATES.search(value)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            return False
        items = value.values() if kind is dict else value
        for item in items:
            t = type(item)
            if t is str:
                if not item.isascii() and _SURROGATES.search(item):
                    return False
            elif t is int or t is bool or item is None:
                continue
            elif not _safe(item, depth + 1):
                return False
        if kind is dict:
            return all(
                type(k) is not str or k.isascii() or not _SURROGATES.search(k) for k in value
            )
        return True
    if kind is float:
        return value == value and value not in (_INF, -_INF)
    if isinstance(value, Mapping | list | tuple | str | float):
        return unsafe_value(value, depth=depth) is None
    return True


def unsafe_value(value: Any, where: str = "body", depth: int = 0) -> tuple[str, str] | None:
    """``(field, rule)`` for the first part of a JSON value that cannot go on the wire, or None.

    JSON (RFC 8259) has no NaN or Infinity, UTF-8 cannot carry a lone surrogate (``"\\ud800"``),
    and nesting deeper than :data:`MAX_DEPTH` is refused before a recursive encoder or reader
    overflows the stack. The recursion is bounded by ``MAX_DEPTH``.
    """
    if depth == 0 and _safe(value, 0):
        return None
    if isinstance(value, str):
        if not value.isascii() and _SURROGATES.search(value):
            return where, "must not contain a lone UTF-16 surrogate (not encodable as UTF-8)"
        return None
    if isinstance(value, float):
        if value != value or value in (_INF, -_INF):
            return where, f"must be a finite number, got {value!r}"
        return None
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            return where, f"nests deeper than {MAX_DEPTH} levels"
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    continue  # json.dumps turns int/float/bool keys into text
                found = unsafe_value(key, f"{where} key", depth + 1) or unsafe_value(
                    item, f"{where}.{key}", depth + 1
                )
                if found:
                    return found
        else:
            for i, item in enumerate(value):
                found = unsafe_value(item, f"{where}[{i}]", depth + 1)
                if found:
                    return found
    return None


def may_be_unsafe(text: str) -> bool:
    """A cheap screen of raw JSON text before :func:`unsafe_value`: only text with a ``\\u``
    escape of a surrogate or many brackets can decode to an unsafe value (the JSON reader
    itself refuses non-finite numbers when given ``parse_constant``/``parse_float``)."""
    return "\\ud" in text or "\\uD" in text or text.count("[") + text.count("{") > MAX_DEPTH
