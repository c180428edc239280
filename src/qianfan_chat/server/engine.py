"""The scripted reply engine: decides what the local server answers. Every reply is TEST DATA.

Nothing here is a language model. A reply comes from the first matching :class:`Rule` a test
registered, or else from a fixed, deterministic default (a greeting answers a greeting, other
input is quoted back, a function result is echoed, a function named in the question is called
with arguments generated from its JSON Schema). Tests script exact replies with rules; the
defaults only make an unscripted conversation well-formed.

The engine is protocol-neutral: it takes an :class:`EngineRequest` (model, messages, functions,
tool choice, response format, stop strings) and returns an :class:`EngineReply` (text or calls,
a neutral finish reason, safety flags). The v1 route turns that into Baidu's v1 reply
(:mod:`.v1_format`), the v2 route into an OpenAI-shaped one (:mod:`.v2_format`).

Example::

    engine = ReplyEngine()
    engine.add_rule(contains="weather", text="Sunny, 25°C.")
    engine.add_rule(model="ERNIE-Bot", regex=r"^bye", error_code=336100, times=1)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .._protocol.models_v1 import model_table
from .codemap import is_v2_code
from .counted import CountedList, check_times
from .schema import example_arguments, example_value
from .values import is_int

FinishReason = Literal["end", "stop", "calls", "length"]

GREETING_REPLY = "您好！有什么我可以帮助您的吗？"
SCRIPTED_NOTE = "这是千帆本地测试服务器的脚本回复。"
_GREETINGS = frozenset(
    {
        "hello", "hi", "hey", "hey there", "hi there", "hello there", "hiya", "howdy", "yo",
        "greetings", "good morning", "good afternoon", "good evening", "hallo", "hola",
        "你好", "您好", "你好呀", "你好啊", "嗨", "哈喽", "哈啰", "早上好", "下午好", "晚上好",
        "早", "在吗", "大家好",
    }
)  # fmt: skip
_GREETING_STRIP = " \t\r\n!！。.,，~～?？;；:：、…"
# A stream piece ends after sentence punctuation (and any closing quotes), or a newline.
_PIECE = re.compile(r".*?(?:[。！？!?；;…\n]+[」』”’\"')）]*|\.(?=\s)|$)", re.S)
_RULE_ANSWERS = ("text", "function_call", "tool_calls", "error_code")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call in a reply: ``arguments`` is JSON text, as the wire carries it."""

    name: str
    arguments: str
    thoughts: str = ""


@dataclass(frozen=True)
class Rule:
    """One scripted answer (TEST DATA): when it matches, the engine replies with it.

    Match (all given conditions must hold; none given matches every request):

    * ``model``: a model name from the table (any spelling, case-insensitive), an endpoint
      suffix (``eb-instant``) or a custom endpoint name;
    * ``contains`` (substring) or ``regex`` (``re.search``) on the LAST message's content,
      whatever its role; ``role`` restricts that message's role;
    * ``times``: the rule fires at most this many times, then is skipped.

    Answer with exactly one of ``text``, ``function_call`` ({name, arguments (dict or JSON
    text), thoughts}), ``tool_calls`` (a list of such calls; a v1 reply carries the first only,
    v1 has one function_call per turn) or ``error_code`` (+ ``error_msg``; Baidu's text when
    omitted): a v1 integer or a v2 string code, each route translates it (see
    :mod:`.codemap`). ``chunks`` lists explicit stream pieces (their concatenation is the text).
    ``finish_reason``, ``need_clear_history`` and ``ban_round`` are copied into the reply.
    """

    text: str | None = None
    function_call: Mapping[str, Any] | None = None
    tool_calls: Sequence[Mapping[str, Any]] | None = None
    error_code: int | str | None = None
    error_msg: str | None = None
    model: str | None = None
    contains: str | None = None
    regex: str | None = None
    role: str | None = None
    times: int | None = None
    finish_reason: str | None = None
    need_clear_history: bool = False
    ban_round: int | None = None
    chunks: Sequence[str] | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _model_keys: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _calls: tuple[ToolCall, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        answers = [name for name in _RULE_ANSWERS if getattr(self, name) is not None]
        if not answers and self.chunks is None:
            raise ValueError(f"a rule needs an answer: one of {', '.join(_RULE_ANSWERS)}")
        if len(answers) > 1:
            raise ValueError(f"a rule has one answer, got {', '.join(answers)}")
        if self.chunks is not None:
            if answers not in ([], ["text"]):
                raise ValueError("chunks script a text answer; they cannot go with " + answers[0])
            if isinstance(self.chunks, str) or not all(isinstance(c, str) for c in self.chunks):
                raise ValueError("chunks must be a list of strings")
            if self.text is not None and "".join(self.chunks) != self.text:
                raise ValueError("chunks must concatenate to text")
        if self.text is not None and not isinstance(self.text, str):
            raise ValueError("text must be a string")
        if self.error_code is not None and not (
            is_int(self.error_code) or is_v2_code(self.error_code)
        ):
            raise ValueError("error_code must be an integer (v1) or a known v2 code string")
        check_times(self.times)
        for name in ("model", "contains", "regex", "role", "error_msg", "finish_reason"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.ban_round is not None and not is_int(self.ban_round):
            raise ValueError("ban_round must be an integer")
        if not isinstance(self.need_clear_history, bool):
            raise ValueError("need_clear_history must be true or false")
        try:
            pattern = re.compile(self.regex) if self.regex is not None else None
        except re.error as exc:
            raise ValueError(f"bad regex {self.regex!r}: {exc}") from exc
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_model_keys", model_table().keys_for(self.model))
        calls: list[Mapping[str, Any]] = []
        if self.function_call is not None:
            calls = [self.function_call]
        elif self.tool_calls is not None:
            if isinstance(self.tool_calls, Mapping) or not self.tool_calls:
                raise ValueError("tool_calls must be a non-empty list of calls")
            calls = list(self.tool_calls)
        object.__setattr__(self, "_calls", tuple(_tool_call(c) for c in calls))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from JSON/TOML data; unknown keys are an error (a typo must not match all)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a rule must be an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rule keys: {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON data (only the fields that are set)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.init and value is not None and value is not False:
                out[f.name] = list(value) if f.name in ("tool_calls", "chunks") else value
        return out

    def matches(self, request: EngineRequest) -> bool:
        if self._model_keys and self._model_keys.isdisjoint(request.model_keys):
            return False
        last = request.messages[-1] if request.messages else {}
        if self.role is not None and last.get("role") != self.role:
            return False
        if self.contains is None and self._pattern is None:
            return True
        content = last.get("content")
        text = content if isinstance(content, str) else ""
        if self.contains is not None and self.contains not in text:
            return False
        return self._pattern is None or self._pattern.search(text) is not None


def _tool_call(data: Mapping[str, Any]) -> ToolCall:
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ValueError("a function call needs a name")
    arguments = data.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(data["name"], arguments, str(data.get("thoughts", "")))


@dataclass(frozen=True)
class EngineRequest:
    """What the engine sees of a chat request, whatever the wire protocol.

    ``messages`` are the kept messages (after history truncation) as dicts with ``role``,
    ``content`` and, for function results, ``name``. ``tool_choice`` is ``auto``, ``none`` or
    ``required``; ``forced_function`` names the function the caller forces. With
    ``strict_tool_choice`` (the v2 route) the choice binds the rules too: ``none`` skips rules
    that script calls, ``required`` or a forced function skip rules that script text.
    ``response_schema`` (with ``response_format="json_schema"``) shapes the default text.
    """

    model: str
    messages: Sequence[Mapping[str, Any]]
    endpoint: str | None = None
    functions: Sequence[Mapping[str, Any]] = ()
    tool_choice: str = "auto"
    forced_function: str | None = None
    response_format: str | None = None
    stop: Sequence[str] = ()
    strict_tool_choice: bool = False
    response_schema: Mapping[str, Any] | None = None

    @property
    def model_keys(self) -> frozenset[str]:
        keys = {self.model.lower()}
        if self.endpoint:
            keys.add(self.endpoint.lower())
        return frozenset(keys)


@dataclass(frozen=True)
class EngineReply:
    """The engine's answer. ``finish_reason`` is neutral (``end``: the text is complete,
    ``stop``: a stop string cut it, ``calls``: function calls, ``length``: cut at the output
    token limit by the route); ``custom_finish_reason`` is a
    rule's explicit value, sent verbatim. ``chunks`` are explicit stream pieces, if scripted."""

    text: str = ""
    calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "end"
    custom_finish_reason: str | None = None
    need_clear_history: bool = False
    ban_round: int | None = None
    chunks: tuple[str, ...] | None = None
    error_code: int | str | None = None
    error_msg: str | None = None
    rule: Rule | None = None


def as_rule(rule: Rule | Mapping[str, Any]) -> Rule:
    return rule if isinstance(rule, Rule) else Rule.from_dict(rule)


class ReplyEngine:
    """Scripted replies (TEST DATA): rules first, in order, then the deterministic defaults.

    Thread-safe: tests add rules from their own thread while the server answers in its own.
    """

    def __init__(self, rules: Iterable[Rule | Mapping[str, Any]] = ()) -> None:
        self._rules: CountedList[Rule] = CountedList(as_rule(r) for r in rules)

    def add_rule(self, rule: Rule | Mapping[str, Any] | None = None, /, **fields: Any) -> Rule:
        """Add one rule (a :class:`Rule`, a dict, or the rule's fields as keywords); the
        earliest added matching rule wins."""
        built = as_rule(rule) if rule is not None else Rule.from_dict(fields)
        if rule is not None and fields:
            raise TypeError("pass a rule or keyword fields, not both")
        self._rules.extend((built,))
        return built

    def add_rules(self, rules: Iterable[Rule | Mapping[str, Any]]) -> list[Rule]:
        """Add several rules at once (all are validated before any is added)."""
        built = [as_rule(r) for r in rules]
        self._rules.extend(built)
        return built

    def set_rules(self, rules: Iterable[Rule | Mapping[str, Any]]) -> None:
        """Replace every rule (fire counts start again)."""
        self._rules.replace([as_rule(r) for r in rules])

    def clear(self) -> None:
        """Remove every rule: only the defaults answer."""
        self._rules.replace(())

    @property
    def rules(self) -> list[Rule]:
        return self._rules.items

    def describe(self) -> list[dict[str, Any]]:
        """The rules as JSON data, each with how often it has fired."""
        return self._rules.describe()

    def _match(self, request: EngineRequest) -> Rule | None:
        if not self._rules.entries:
            return None
        skip_calls = skip_text = False
        if request.strict_tool_choice:
            skip_calls = request.tool_choice == "none" and request.forced_function is None
            skip_text = request.forced_function is not None or (
                request.tool_choice == "required" and bool(request.functions)
            )
        with self._rules.lock:
            for entry in self._rules.entries:
                rule = entry.item
                if entry.exhausted():
                    continue
                if (skip_calls and rule._calls) or (
                    skip_text and rule.error_code is None and not rule._calls
                ):
                    continue
                if rule.matches(request):
                    entry.fire()
                    return rule
        return None

    def reply(self, request: EngineRequest) -> EngineReply:
        """The scripted answer to ``request``: the first matching rule's, else the default."""
        rule = self._match(request)
        if rule is not None:
            return _rule_reply(rule, request)
        name = _pick_function(request)
        if name is not None:
            return EngineReply(
                calls=(generated_call(name, request.functions),), finish_reason="calls"
            )
        return apply_stop(EngineReply(text=default_text(request)), request.stop)


def _rule_reply(rule: Rule, request: EngineRequest) -> EngineReply:
    flags: dict[str, Any] = {
        "custom_finish_reason": rule.finish_reason,
        "need_clear_history": rule.need_clear_history,
        "ban_round": rule.ban_round,
        "rule": rule,
    }
    if rule.error_code is not None:
        return EngineReply(error_code=rule.error_code, error_msg=rule.error_msg, rule=rule)
    if rule._calls:
        calls = rule._calls
        forced = request.forced_function
        if forced is not None:
            # tool_choice forces a function: the forced name wins over the script (a scripted
            # call to it keeps its arguments, wherever it stands among the scripted calls).
            calls = tuple(c for c in calls if c.name == forced) or (
                generated_call(forced, request.functions),
            )
        return EngineReply(calls=calls, finish_reason="calls", **flags)
    chunks = tuple(rule.chunks) if rule.chunks is not None else None
    text = rule.text if rule.text is not None else "".join(chunks or ())
    return apply_stop(EngineReply(text=text, chunks=chunks, **flags), request.stop)


def _pick_function(request: EngineRequest) -> str | None:
    """The function a request gets called without a rule (see the module docstring)."""
    if request.forced_function is not None:
        return request.forced_function
    if not request.functions or request.tool_choice == "none":
        return None
    names: list[str] = [f["name"] for f in request.functions if isinstance(f.get("name"), str)]
    last = request.messages[-1] if request.messages else {}
    content = last.get("content")
    if last.get("role") == "user" and isinstance(content, str):
        text = content.lower()
        for name in names:
            lowered = name.lower()
            if lowered in text or lowered.replace("_", " ") in text:
                return name
    if request.tool_choice == "required" and names:
        return names[0]
    return None


def generated_call(name: str, functions: Sequence[Mapping[str, Any]]) -> ToolCall:
    """A call to ``name`` with arguments that validate against its ``parameters`` schema."""
    schema: Any = {}
    for fn in functions:
        if fn.get("name") == name:
            schema = fn.get("parameters") or {}
            break
    arguments = json.dumps(example_arguments(schema), ensure_ascii=False)
    return ToolCall(name, arguments, f"用户的问题需要调用 {name} 来回答。")


def is_greeting(text: str) -> bool:
    """A whole message that is only a greeting (case-insensitive, punctuation ignored)."""
    return text.strip(_GREETING_STRIP).lower() in _GREETINGS


def abbreviate(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def default_text(request: EngineRequest) -> str:
    """The deterministic unscripted reply (TEST DATA) to the last message."""
    last = request.messages[-1] if request.messages else {}
    content = last.get("content")
    content = content if isinstance(content, str) else ""
    if last.get("role") in ("function", "tool"):
        name = last.get("name") or "函数"
        text = f"根据 {name} 的结果：{abbreviate(content, 200)}。"
    elif is_greeting(content):
        text = GREETING_REPLY
    else:
        text = f"您说的是：「{abbreviate(content)}」。{SCRIPTED_NOTE}"
    if request.response_format == "json_object":
        return json.dumps({"reply": text}, ensure_ascii=False)
    if request.response_format == "json_schema" and request.response_schema is not None:
        schema = request.response_schema
        return json.dumps(example_value(schema) if schema else {}, ensure_ascii=False)
    return text


def apply_stop(reply: EngineReply, stop: Sequence[str]) -> EngineReply:
    """Cut the text at the earliest stop string (excluded), as a model stops generating."""
    cut = min((i for s in stop if s and (i := reply.text.find(s)) >= 0), default=-1)
    if cut < 0:
        return reply
    return truncate_reply(reply, cut, "stop")


def truncate_reply(reply: EngineReply, cut: int, finish: FinishReason) -> EngineReply:
    """The reply's text (and scripted chunks) cut to ``cut`` characters, with ``finish``;
    every other field is kept."""
    chunks = reply.chunks
    if chunks is not None:
        kept: list[str] = []
        used = 0
        for piece in chunks:
            if used >= cut:
                break
            kept.append(piece[: cut - used])
            used += len(piece)
        chunks = tuple(kept)
    return replace(reply, text=reply.text[:cut], finish_reason=finish, chunks=chunks)


def split_text(text: str, max_chars: int) -> list[str]:
    """Stream pieces: sentences (ending at punctuation or a newline), each cut to at most
    ``max_chars`` characters. Joined they give ``text`` back; an empty text gives ``[""]``."""
    pieces: list[str] = []
    for sentence in _PIECE.findall(text):
        if not sentence:
            continue
        if max_chars > 0 and len(sentence) > max_chars:
            pieces.extend(sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars))
        else:
            pieces.append(sentence)
    return pieces or [""]
