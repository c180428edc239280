"""Baidu's token estimate: Chinese characters + words x 1.3 (seed document 001, ``usage``).

Used by the local server for ``usage`` and the history rule, and by the LangChain model's
``get_num_tokens``. It is Baidu's published estimate, not a tokenizer.
"""

from __future__ import annotations

import re

# CJK Unified Ideographs (and extension A, compatibility ideographs) count one token each.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A "word" is a run of letters/digits that are not Han characters.
_WORD = re.compile(r"[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of ``text`` the way Baidu documents it.

    >>> estimate_tokens("你好")
    2
    >>> estimate_tokens("hello world")
    3
    """
    if not text:
        return 0
    han = len(_HAN.findall(text))
    words = len(_WORD.findall(text))
    return han + int(words * 1.3 + 0.5)
