"""The shapes of a message's ``content``: a string, or (v2) a list of ``{"type": "text",
"text": ...}`` parts. Read by the v2 rules, the token count and the local server's engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
