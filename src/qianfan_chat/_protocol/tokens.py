"""Baidu's token estimate: Chinese characters + words x 1.3 (seed document 001, ``usage``),
and the one count of a request's prompt built on it.

The local server reports :func:`prompt_tokens` as ``usage.prompt_tokens`` and applies the history
and context rules with it; the LangChain model's ``get_num_tokens_from_messages`` is the same
count (plus the tool definitions it is asked about). It is Baidu's published estimate, not a
tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from .content import content_text


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # Compiled on first use: these Unicode classes cost milliseconds at import time.
    # CJK Unified Ideographs (and extension A, compatibility ideographs) count one token each;
    # a "word" is a run of letters/digits that are not Han characters.
    han = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
    word = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
    return han, word


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of ``text`` the way Baidu documents it.

    >>> estimate_tokens("你好")
    2
    >>> estimate_tokens("hello world")
    3
    """
    if not text:
        return 0
    han_re, word_re = _patterns()
    han = len(han_re.findall(text))
    words = len(word_re.findall(text))
    return han + int(words * 1.3 + 0.5)


def message_tokens(message: Mapping[str, Any]) -> int:
    """One message: its text content, plus the name and arguments of each function call it
    carries (v1 ``function_call``, v2 ``tool_calls``)."""
    total = estimate_tokens(content_text(message.get("content")) or "")
    calls: list[Any] = list(message.get("tool_calls") or ())
    if isinstance(message.get("function_call"), Mapping):
        calls.append({"function": message["function_call"]})
    for call in calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            name, arguments = function.get("name"), function.get("arguments")
            total += estimate_tokens(str(name or "") + str(arguments or ""))
    return total


def prompt_tokens(messages: Iterable[Mapping[str, Any]], system: str | None = None) -> int:
    """A request's prompt: every message (:func:`message_tokens`) and v1's ``system`` field."""
    return sum(message_tokens(m) for m in messages) + estimate_tokens(system or "")
