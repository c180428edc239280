"""Web search in chat: the ``web_search`` option's names, the result shape, the citation
markers and the "searching" status chunk.

Source: ``shared/docs/protocol-v2-extensions.md`` section 3. Older pages named two options
``search_num`` / ``reference_num``: both are accepted, the new names are sent [doc, 2025-09].
Results sit at the top level as ``search_results``, or (Baidu's SDK types) under
``web_search``; the status chunk's ``delta_tag`` may sit in the delta, the choice or the top
level [unverified]: every form is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

WEB_SEARCH: Final = "web_search"  # the request option and (SDK) the reply field
SEARCH_RESULTS: Final = "search_results"
OPTION_NAMES: Final = (
    "enable",
    "enable_trace",
    "enable_status",
    "enable_citation",
    "search_mode",
    "search_number",
    "reference_number",
)
BOOL_OPTIONS: Final = ("enable", "enable_trace", "enable_status", "enable_citation")
LEGACY_NAMES: Final = {"search_num": "search_number", "reference_num": "reference_number"}
SEARCH_MODES: Final = ("auto", "required")  # not for ERNIE models
NUMBER_RANGE: Final = (1, 28)
DEFAULT_NUMBER: Final = 10

RESULT_FIELDS: Final = ("index", "url", "title", "datasource_id")

DELTA_TAG: Final = "delta_tag"
STATUS_TAG: Final = "search_status"
SEARCHING_TEXT: Final = "正在搜索"

# ^[1]^ or ^[1][2]^ (section 3). Group 1 holds the bracketed indices.
MARKER: Final = re.compile(r"\^((?:\[\d+\])+)\^")
_INDEX: Final = re.compile(r"\[(\d+)\]")


def normalize_option(option: Mapping[str, Any]) -> dict[str, Any]:
    """The ``web_search`` body to send: legacy names renamed (a new name given too wins),
    unset values dropped, ``reference_number`` clamped to ``search_number``. Unknown keys pass
    through (the service may add options before this table does)."""
    out: dict[str, Any] = {}
    for key, value in option.items():
        if value is None:
            continue
        name = LEGACY_NAMES.get(key, key)
        if key in LEGACY_NAMES and option.get(name) is not None:
            continue
        out[name] = value
    search, ref = out.get("search_number"), out.get("reference_number")
    if isinstance(search, int) and isinstance(ref, int) and ref > search:
        out["reference_number"] = search
    return out


def check_option(option: Any) -> tuple[str, str] | None:
    """``(field, rule)`` when a ``web_search`` option is malformed, else None."""
    if not isinstance(option, Mapping):
        return WEB_SEARCH, "must be an object"
    for key in BOOL_OPTIONS:
        if option.get(key) is not None and not isinstance(option[key], bool):
            return f"{WEB_SEARCH}.{key}", "must be a boolean"
    mode = option.get("search_mode")
    if mode is not None and mode not in SEARCH_MODES:
        return f"{WEB_SEARCH}.search_mode", f"must be one of {', '.join(SEARCH_MODES)}"
    low, high = NUMBER_RANGE
    for key in ("search_number", "reference_number", *LEGACY_NAMES):
        value = option.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return (
                f"{WEB_SEARCH}.{LEGACY_NAMES.get(key, key)}",
                f"must be an integer in [{low}, {high}]",
            )
    return None


def results_of(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The search results a reply or chunk carries: top-level ``search_results``, or
    ``web_search`` as a list or as ``{"search_results": [...]}``; None when it carries none."""
    found = body.get(SEARCH_RESULTS)
    if not isinstance(found, list):
        nested = body.get(WEB_SEARCH)
        if isinstance(nested, Mapping):
            nested = nested.get(SEARCH_RESULTS)
        found = nested if isinstance(nested, list) else None
    if found is None:
        return None
    return [dict(r) for r in found if isinstance(r, Mapping)]


def status_of(chunk: Mapping[str, Any]) -> str | None:
    """The status text of a "searching" chunk (``delta_tag: "search_status"`` in the delta,
    the choice or the top level), else None."""
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    choice: Mapping[str, Any] = first if isinstance(first, Mapping) else {}
    inner = choice.get("delta")
    delta: Mapping[str, Any] = inner if isinstance(inner, Mapping) else {}
    for place in (delta, choice, chunk):
        if place.get(DELTA_TAG) == STATUS_TAG:
            text = delta.get("content")
            return text if isinstance(text, str) and text else SEARCHING_TEXT
    return None


@dataclass(frozen=True, slots=True)
class Marker:
    """One citation marker in a text: its span ``[start, end)`` and the result indices it
    names (1-based, as the results' ``index``)."""

    start: int
    end: int
    indices: tuple[int, ...]


def markers(text: str) -> list[Marker]:
    """Every ``^[n]^`` / ``^[n][m]^`` marker in ``text``, in order."""
    return [
        Marker(m.start(), m.end(), tuple(int(i) for i in _INDEX.findall(m.group(1))))
        for m in MARKER.finditer(text)
    ]


def marker_text(indices: tuple[int, ...] | list[int]) -> str:
    """The marker for ``indices``: ``^[1]^`` or ``^[1][2]^`` (what the local server writes)."""
    return "^" + "".join(f"[{i}]" for i in indices) + "^"


def result(index: int, url: str, title: str, **more: Any) -> dict[str, Any]:
    """One search result in the reply's shape (``datasource_id`` and others optional)."""
    return {"index": index, "url": url, "title": title, **more}
