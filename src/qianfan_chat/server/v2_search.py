"""Web search on the local server's v2 chat route: scripted results, citation markers and the
"searching" status chunk. Pure functions, no I/O; every result is TEST DATA (nothing is
searched: the URLs are under ``example.com``, reserved for examples by RFC 2606).

Source: ``shared/docs/protocol-v2-extensions.md`` section 3; option names, ranges, markers and
the status tag are :mod:`qianfan_chat._protocol.search`'s.

Search is on with ``web_search: {"enable": true, ...}``, and with the older forms a caller may
still send: ``web_search: true``, top-level ``enable_search: true`` (with top-level
``enable_trace`` / ``enable_citation`` / ``enable_status``), ``search_num`` / ``reference_num``.
Every model answers it (the table's ``search`` flag is a hint, never a refusal). Then:

* ``enable_trace`` (unset counts as on: the live default is [unverified]; ``false`` turns it
  off): ``search_results: [{"index", "url", "title", "datasource_id"}]``, ``reference_number``
  of them (default 10, clamped to ``search_number``), at the top level of the reply, and of the
  first content chunk of a stream;
* ``enable_citation`` (unset counts as on; ``false`` turns it off): ``^[1]^`` after the text's
  first sentence and ``^[1][2]^`` at its end (unless a rule's text already cites);
* ``enable_status`` (streams only): the first chunk's delta is ``{"role": "assistant",
  "content": "正在搜索", "delta_tag": "search_status"}`` (where ``delta_tag`` sits live is
  [unverified]; the delta is the place lobe-chat's fixture shows). It is a status, not answer
  text: a client must not add it to the answer.
* ``search_mode`` ``required`` or ``auto``: both search (scripted); other values are 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from .._protocol import search as facts
from .._protocol.tokens import estimate_tokens
from .engine import EngineReply, abbreviate

RESULTS_BASE = "https://example.com/qianfan-local-search/"
_ENDS = frozenset("。！？!?")
_OPEN, _CLOSE = frozenset("「『“"), frozenset("」』”")


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """What one request asked of web search (options read and checked)."""

    trace: bool = True
    citation: bool = True
    status: bool = False
    number: int = facts.DEFAULT_NUMBER
    reference: int = facts.DEFAULT_NUMBER
    mode: str = "auto"


def search_plan(body: Mapping[str, Any]) -> SearchPlan | tuple[str, str] | None:
    """The plan when the body turns web search on, None when it does not, or ``(field, rule)``
    for a malformed option (HTTP 400 ``invalid_argument``)."""
    option: Any = body.get(facts.WEB_SEARCH)
    if option is None and body.get("enable_search") is True:
        # The older top-level form: enable_search with its flags beside it.
        option = {"enable": True}
        for key in ("enable_trace", "enable_citation", "enable_status"):
            if isinstance(body.get(key), bool):
                option[key] = body[key]
    if option is None or option is False:
        return None
    if option is True:
        option = {"enable": True}
    problem = facts.check_option(option)
    if problem is not None:
        return problem
    if option.get("enable") is not True:
        return None
    read = facts.normalize_option(option)
    number = read.get("search_number", facts.DEFAULT_NUMBER)
    reference = min(read.get("reference_number", facts.DEFAULT_NUMBER), number)
    return SearchPlan(
        trace=read.get("enable_trace") is not False,
        citation=read.get("enable_citation") is not False,
        status=read.get("enable_status") is True,
        number=number,
        reference=reference,
        mode=str(read.get("search_mode", "auto")),
    )


def scripted_results(plan: SearchPlan, question: str) -> list[dict[str, Any]]:
    """``plan.reference`` deterministic results about ``question`` (TEST DATA)."""
    topic = abbreviate(question, 30) or "搜索"
    query = quote(abbreviate(question, 60), safe="")
    return [
        facts.result(
            n,
            f"{RESULTS_BASE}{n}?q={query}",
            f"测试数据：关于「{topic}」的第 {n} 条搜索结果",
            datasource_id=f"local-test-{n}",
        )
        for n in range(1, plan.reference + 1)
    ]


def cite(reply: EngineReply, count: int) -> EngineReply:
    """The reply's text with markers: ``^[1]^`` after its first sentence, ``^[1][2]^`` (or
    ``^[1]^`` with one result) at its end. A reply with calls, no text, or markers already
    (a rule cites itself) is left as it is."""
    text = reply.text
    if reply.calls or not text or count < 1 or facts.markers(text):
        return reply
    end = facts.marker_text(list(range(1, min(count, 2) + 1)))
    if reply.chunks is not None:  # scripted pieces: only the end marker, on the last piece
        chunks = (*reply.chunks[:-1], reply.chunks[-1] + end) if reply.chunks else (end,)
        return replace(reply, text=text + end, chunks=chunks)
    cut = first_sentence_end(text)
    if cut is not None:
        text = text[:cut] + facts.marker_text([1]) + text[cut:]
    return replace(reply, text=text + end)


def first_sentence_end(text: str) -> int | None:
    """Where the first sentence ends outside quotes (so a quoted question is never cut), if
    more text follows it."""
    depth = 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char in _ENDS and depth == 0 and i + 1 < len(text):
            return i + 1
    return None


def search_tokens(results: list[dict[str, Any]]) -> int:
    """What the results cost as prompt (``usage.prompt_tokens_details.search_tokens``)."""
    return sum(estimate_tokens(f"{r['title']} {r['url']}") for r in results)


def status_delta() -> dict[str, Any]:
    """The first chunk's delta when ``enable_status`` asks (see the module docstring)."""
    return {"role": "assistant", "content": facts.SEARCHING_TEXT, facts.DELTA_TAG: facts.STATUS_TAG}
