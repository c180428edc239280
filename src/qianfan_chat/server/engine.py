"""The scripted reply engine: decides what the local server answers. Every reply is TEST DATA.

Nothing here is a language model. A reply comes from the first matching :class:`Rule` a test
registered, or else from a fixed, deterministic default (a greeting answers a greeting, other
input is quoted back, a function result is echoed, a function the question asks for is called
with arguments generated from its JSON Schema). Tests script exact replies with rules; the
defaults only make an unscripted conversation well-formed.

**When the default calls a function** (functions or tools offered, no rule matched). A forced
function (``tool_choice`` naming one) is always called; ``tool_choice: none`` never calls.
Otherwise only a LAST message from the user can ask for a call (:func:`asked_function`):

1. the first offered function it names: the name as a whole word, case-insensitive, its ``_``
   also read as a space (``get_weather``, ``GET_WEATHER``, ``get weather``);
2. else the function whose name and description share the most *content words* with it (at
   least one; a tie goes to the function offered first).

Content words (:func:`content_words`) are English words (runs of letters and digits, split at
``_`` and camelCase, lower-cased, a plural ``-s``/``-ies`` folded; 1-letter words and numbers
dropped) that are not stop-words (articles, pronouns, prepositions, auxiliaries, question
words, generic verbs such as get/set/use/tell, filler such as current/given/today), and, for
Chinese, each two adjacent Han characters of a run, unless the pair holds a particle or a
question character (的 是 了 吗 呢 吧 啊 呀 嘛 么 怎 哪 谁) or is a stop pair (什么, 怎么, 如何,
今天, 获取, 查询, 当前, ...). So "What's the weather in Beijing today?" asks for
``get_current_weather`` described "Get the current weather in a given location" (*weather*),
北京今天天气怎么样 for a function described 获取指定城市的天气 (*天气*), and "What is the
capital of France?" for neither. Nothing is translated: a Chinese question never matches an
English description.

With ``tool_choice: required`` and nothing asked for, the first function is called. A call's
arguments are :func:`~.schema.example_arguments` of its schema; when the question asked for the
call, a top-level plain string property that takes a place (named or described ``location``,
``city``, ``address``, 城市, 地点, ...) gets the place the question names, if any (capitalised
words after in/at/for/near/from/to, "in San Francisco, CA" → ``San Francisco, CA``; or a
Chinese city of a short list, 北京, 上海, ...). All of it is TEST DATA, predictable, not clever.

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

from .._protocol.content import content_text
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
    ``finish_reason``, ``need_clear_history`` and ``ban_round`` are copied into the reply (a v1
    reply with ``finish_reason="length"`` also says ``is_truncated: true``).
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
        picked = _pick_function(request)
        if picked is not None:
            name, question = picked
            call = generated_call(name, request.functions, question=question)
            return EngineReply(calls=(call,), finish_reason="calls")
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


def _question(request: EngineRequest) -> str | None:
    """The text of the last message when it is the user's (only a user can ask for a call)."""
    last = request.messages[-1] if request.messages else {}
    return content_text(last.get("content")) if last.get("role") == "user" else None


def _pick_function(request: EngineRequest) -> tuple[str, str | None] | None:
    """The function a request gets called without a rule, with the question that asked for
    it (None when it is called because the caller forces or requires a call); see the module
    docstring."""
    if request.forced_function is not None:
        return request.forced_function, None
    if not request.functions or request.tool_choice == "none":
        return None
    question = _question(request)
    if question:
        asked = asked_function(question, request.functions)
        if asked is not None:
            return asked, question
    names = [f["name"] for f in request.functions if isinstance(f.get("name"), str)]
    if request.tool_choice == "required" and names:
        return names[0], None
    return None


# -- what a question asks for (TEST DATA; the rules are in the module docstring) -------------

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_STOP_WORDS = frozenset(
    {
        "a", "an", "the", "this", "that", "these", "those", "there", "here", "what", "whats",
        "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were",
        "be", "been", "being", "am", "do", "does", "did", "doing", "done", "have", "has", "had",
        "having", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "i",
        "me", "my", "mine", "myself", "you", "your", "yours", "he", "him", "his", "she", "her",
        "it", "its", "we", "us", "our", "they", "them", "their", "in", "on", "at", "to", "for",
        "of", "from", "by", "with", "about", "into", "onto", "over", "under", "up", "down", "out",
        "off", "as", "than", "then", "so", "and", "or", "but", "nor", "not", "no", "yes", "if",
        "else", "also", "too", "very", "just", "only", "some", "any", "all", "each", "every",
        "much", "many", "more", "most", "other", "such", "same", "own", "again", "please", "pls",
        "thanks", "thank", "ok", "okay", "hi", "hello", "hey", "get", "gets", "got", "set", "sets",
        "use", "uses", "using", "call", "calls", "tell", "show", "give", "gives", "let", "make",
        "makes", "want", "need", "needs", "know", "like", "help", "find", "fetch", "return",
        "returns", "provide", "provides", "check", "look", "see", "say", "said", "go", "goes",
        "function", "functions", "tool", "tools", "api", "current", "given", "specific",
        "specified", "certain", "particular", "info", "information", "data", "value", "values",
        "result", "results", "input", "output", "user", "users", "based", "today", "now", "right",
        "way", "thing", "something", "anything", "one",
    }
)  # fmt: skip
_STOP_HAN = frozenset("的是了吗呢吧啊呀嘛么怎哪谁")
_STOP_PAIRS = frozenset(
    {
        "什么", "怎么", "怎样", "如何", "为何", "哪个", "哪些", "哪里", "多少", "一下", "一个",
        "一些", "这个", "那个", "这些", "那些", "我们", "你们", "他们", "可以", "能否", "是否",
        "请问", "帮我", "给我", "告诉", "知道", "需要", "想要", "今天", "现在", "目前", "当前",
        "获取", "查询", "返回", "指定", "给定", "提供", "函数", "工具", "信息", "用户", "根据",
    }
)  # fmt: skip


def _stem(word: str) -> str:
    """A plural folded (cities → city, weathers → weather), the same on both sides."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that can show what it asks for: English content words and Han
    character pairs (the rule is in the module docstring).

    >>> sorted(content_words("What's the weather in Beijing today?"))
    ['beijing', 'weather']
    >>> sorted(content_words("北京的天气怎么样"))
    ['北京', '天气']
    """
    spaced = _CAMEL.sub(" ", text).replace("_", " ").lower()
    words = {
        _stem(w)
        for w in _WORD.findall(spaced)
        if len(w) > 1 and not w.isdigit() and w not in _STOP_WORDS
    }
    for run in _HAN_RUN.findall(text):
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if _STOP_HAN.isdisjoint(pair) and pair not in _STOP_PAIRS:
                words.add(pair)
    return frozenset(words - _STOP_WORDS)


def _names(name: str, text: str) -> bool:
    """``text`` (lower-cased) names the function as a whole word (``_`` or a space)."""
    lowered = name.lower()
    for spelling in dict.fromkeys((lowered, lowered.replace("_", " "))):
        if re.search(rf"(?<![a-z0-9_]){re.escape(spelling)}(?![a-z0-9_])", text):
            return True
    return False


def asked_function(question: str, functions: Sequence[Mapping[str, Any]]) -> str | None:
    """The function ``question`` plainly asks for: the first one it names, else the one whose
    name and description share the most content words with it; None when none does.

    >>> weather = {"name": "get_current_weather",
    ...            "description": "Get the current weather in a given location"}
    >>> asked_function("What's the weather in Beijing today?", [weather])
    'get_current_weather'
    >>> asked_function("What is the capital of France?", [weather]) is None
    True
    """
    named = [f for f in functions if isinstance(f.get("name"), str) and f["name"]]
    lowered = question.lower()
    for fn in named:
        if _names(fn["name"], lowered):
            return str(fn["name"])
    asked = content_words(question)
    best: str | None = None
    best_score = 0
    for fn in named:
        description = fn.get("description")
        described = description if isinstance(description, str) else ""
        score = len(asked & content_words(f"{fn['name']} {described}"))
        if score > best_score:
            best, best_score = str(fn["name"]), score
    return best


# A property that takes a place, by its name or description; the places a question can name.
_PLACE_PROPERTY = re.compile(
    r"location|city|place|address|region|country|province|town|where|城市|地点|位置|地区|地址|省份"
)
_EN_PLACE = re.compile(
    r"\b(?:in|at|for|near|from|to)\s+([A-Z][\w.'-]*(?:(?:\s+|,\s*)[A-Z][\w.'-]*)*)"
)
_ZH_PLACE = re.compile(
    "(北京|上海|广州|深圳|杭州|南京|苏州|成都|重庆|武汉|西安|天津|长沙|郑州|青岛|厦门|沈阳"
    "|哈尔滨|昆明|香港|澳门|台北)市?"
)


def question_place(question: str) -> str | None:
    """The place ``question`` names, if any (the earliest): capitalised words after
    in/at/for/near/from/to, or a Chinese city of a short list (TEST DATA).

    >>> question_place("What's the weather in San Francisco, CA?")
    'San Francisco, CA'
    >>> question_place("上海明天下雨吗")
    '上海'
    """
    found = [m for m in (_EN_PLACE.search(question), _ZH_PLACE.search(question)) if m]
    if not found:
        return None
    first = min(found, key=lambda m: m.start(1))
    return first.group(1).rstrip(".,'")


def _takes_place(name: str, schema: Any, place: str) -> bool:
    """A plain string property (no enum, const, format or pattern; ``place`` fits its length
    bounds) whose name or description says it takes a place."""
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if not (kind == "string" or (isinstance(kind, list) and "string" in kind)):
        return False
    if any(key in schema for key in ("enum", "const", "format", "pattern")):
        return False
    low, high = schema.get("minLength", 0), schema.get("maxLength", len(place))
    if not (is_int(low) and is_int(high) and low <= len(place) <= high):
        return False
    description = schema.get("description")
    about = f"{name} {description if isinstance(description, str) else ''}".lower()
    return _PLACE_PROPERTY.search(about) is not None


def generated_call(
    name: str, functions: Sequence[Mapping[str, Any]], *, question: str | None = None
) -> ToolCall:
    """A call to ``name`` with arguments that validate against its ``parameters`` schema;
    with the ``question`` that asked for it, a place it names fills the place properties."""
    schema: Any = {}
    for fn in functions:
        if fn.get("name") == name:
            schema = fn.get("parameters") or {}
            break
    arguments = example_arguments(schema)
    place = question_place(question) if question else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if place and isinstance(properties, Mapping):
        for key in arguments:
            if _takes_place(key, properties.get(key), place):
                arguments[key] = place
    text = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(name, text, f"用户的问题需要调用 {name} 来回答。")


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
