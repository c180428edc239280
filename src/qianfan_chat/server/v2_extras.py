"""What a v2 chat request asks beyond plain text, read once and applied to the reply: images
(:mod:`.v2_media`), reasoning switches and ``logprobs`` (:mod:`qianfan_chat._protocol.thinking`)
and web search (:mod:`.v2_search`). Pure functions, no I/O; everything they add is TEST DATA.

The route (:mod:`.v2`) calls, in order: :func:`media_parts` and :func:`.v2_media.text_view`
before the body rules (they read text only), :func:`read_extras` once the model is known (the
text-only refusal, the search options, ``logprobs`` on a thinking model, then decoding the
images), :meth:`Extras.apply` on the engine's reply, and :meth:`Extras.completion` /
:meth:`Extras.chunks` on what is sent.

A reasoning model answers with ``reasoning_content`` (:func:`.v2.reasoning_text`) whenever
``thinking_on`` says so: always-on models always, hybrid models only when a switch in any
plausible form is on (``enable_thinking: true``, ``thinking: {"type": "enabled"}``,
``reasoning_effort``, ``thinking_budget > 0``, ``thinking_strategy``). ``logprobs: true`` or
``top_logprobs`` on a request that thinks is HTTP 400 ``invalid_argument`` (the facts file says
it is an error [doc]; its code is not documented).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._protocol import search as search_facts
from .._protocol.models_v2 import is_text_only
from .._protocol.thinking import thinking_on
from .engine import EngineReply
from .v2_media import MediaError, MediaInfo, MediaPart, read_parts, summary, text_only_error
from .v2_search import SearchPlan, cite, scripted_results, search_plan, search_tokens, status_delta

_JSON_FORMATS = ("json_object", "json_schema")


@dataclass(frozen=True)
class Extras:
    """One request's extras: the images it sent (decoded), its search plan and the scripted
    results, and whether its text answer must stay JSON."""

    media: tuple[MediaInfo, ...] = ()
    search: SearchPlan | None = None
    results: tuple[dict[str, Any], ...] = ()
    json_reply: bool = False

    def apply(self, reply: EngineReply) -> EngineReply:
        """The engine's reply with what the extras add to its text: the image summary before
        an unscripted text answer (not a rule's text, not JSON), then citation markers."""
        if self.media and reply.rule is None and not reply.calls and not self.json_reply:
            reply = replace(reply, text=summary(self.media) + reply.text, chunks=None)
        if self.search is not None and self.search.citation and not self.json_reply:
            reply = cite(reply, len(self.results) or self.search.reference)
        return reply

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """The whole reply with the search results at the top level."""
        if self.results:
            body[search_facts.SEARCH_RESULTS] = list(self.results)
            _count_search(body.get("usage"), self.results)
        return body

    def chunks(self, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The stream's chunks with the status on the first (``enable_status``) and the
        results on the first content chunk."""
        if self.search is None:
            return frames
        if self.search.status and frames and frames[0].get("choices"):
            frames[0]["choices"][0]["delta"] = status_delta()
        if self.results:
            for frame in frames[1:]:
                choices = frame.get("choices") or ()
                if choices and "content" in choices[0].get("delta", {}):
                    frame[search_facts.SEARCH_RESULTS] = list(self.results)
                    break
            for frame in frames:
                _count_search(frame.get("usage"), self.results)
        return frames


NO_EXTRAS = Extras()


def _count_search(usage: Any, results: Sequence[Mapping[str, Any]]) -> None:
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
    if isinstance(details, dict):
        details["search_tokens"] = search_tokens([dict(r) for r in results])


def _last_text(messages: Sequence[Mapping[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"]
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def read_extras(
    body: Mapping[str, Any], model: str, parts: Sequence[MediaPart]
) -> Extras | MediaError:
    """The extras of a body that passed the rules, for ``model`` (its table id or a custom
    endpoint's name); or the 400 that refuses it. Decodes the images (CPU that grows with the
    body: the route runs this off the loop for a large one)."""
    if parts and is_text_only(model) is True:
        return text_only_error()
    plan = search_plan(body)
    if isinstance(plan, tuple):
        where, rule = plan
        return MediaError("invalid_argument", f"Invalid argument: {where} {rule}")
    thinking = thinking_on(model, body)
    if thinking and (body.get("logprobs") is True or body.get("top_logprobs") is not None):
        name = "logprobs" if body.get("logprobs") is True else "top_logprobs"
        return MediaError(
            "invalid_argument", f"Invalid argument: {name} is not supported by thinking models"
        )
    media = read_parts(parts) if parts else []
    if isinstance(media, MediaError):
        return media
    fmt = body.get("response_format")
    json_reply = isinstance(fmt, Mapping) and fmt.get("type") in _JSON_FORMATS
    messages = body.get("messages")
    question = _last_text(messages) if isinstance(messages, list) else ""
    results = scripted_results(plan, question) if plan is not None and plan.trace else []
    return Extras(tuple(media), plan, tuple(results), json_reply)
