"""Baidu's token estimate: Chinese characters + words x 1.3 (seed document 001, ``usage``).

Used by the local server for ``usage`` and the history rule, and by the LangChain model's
``get_num_tokens``. It is Baidu's published estimate, not a tokenizer.
"""

from __future__ import annotations

import re
from functools import lru_cache


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
