"""The v2 (OpenAI-compatible) capability table: the ids ``/v2/chat/completions`` knows, and
what each can do (vision, reasoning and its switch, tools, web search, context, output caps,
price in CNY).

Sources: ``shared/docs/protocol-v2.md`` ("Request", ``model``; "Function calling") for the 2024
ids, ``protocol-v2-extensions.md`` sections 1, 2 and 4 for the 2026 ids (their confidence is
noted per row where it is below [doc]). v2 ids are lower case and matched exactly (a v1 name
such as ``ERNIE-3.5-8K`` is not a v2 id); a deployed service is called by its API name instead.
The client, the LangChain model and the local server all read this one table.

The table is for hints, the LangChain profile and cost: the catalogue changes monthly, so no
one refuses an id because it is missing here (extensions section 4). For an id the table lacks,
:func:`family_hint` guesses from its prefix (``qwen3-vl-*`` sees images, ``qwen3-*`` has the
``enable_thinking`` switch...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, Literal

DEFAULT_V2_MODEL: Final = "ernie-lite-8k"  # protocol.md section 2
# Input budget for a model whose context size is unknown (a deployed service): generous, so
# only an absurd prompt is refused.
DEFAULT_CONTEXT_TOKENS: Final = 131_072
MIN_OUTPUT_TOKENS: Final = 2  # protocol-v2.md: max_tokens range [2, ...]

# How a model family turns reasoning on and off (extensions section 2); :mod:`.thinking`
# translates the one ``thinking`` option into each.
ThinkingSwitch = Literal[
    "always",  # always reasons, no switch (deepseek-r1, ernie-x1-*)
    "enable_thinking",  # enable_thinking: bool, default false (qwen3-*, some ERNIE 4.5/5.0)
    "thinking_budget",  # thinking_budget: int >= 100 (ernie-5.1)
    "thinking_type",  # thinking: {"type": "enabled"|"disabled"} (deepseek-v3.2, glm-5)
    "thinking_type_effort",  # thinking.type plus reasoning_effort high|max (deepseek-v4-*)
    "reasoning_effort",  # reasoning_effort alone
    "thinking_strategy",  # thinking_strategy: short_think|chain_of_draft (deepseek-v3.2-think)
]
THINKING_SWITCHES: Final[tuple[ThinkingSwitch, ...]] = (
    "always",
    "enable_thinking",
    "thinking_budget",
    "thinking_type",
    "thinking_type_effort",
    "reasoning_effort",
    "thinking_strategy",
)
# The catalogue's ``type`` values (extensions section 4).
MODEL_TYPES: Final = ("chat", "multimodal", "embeddings", "rerank", "image", "video")


@dataclass(frozen=True, slots=True)
class Pricing:
    """Live-call prices in CNY per 1,000 tokens, as the catalogue's ``pricing`` strings
    (extensions section 4)."""

    prompt: Decimal
    completion: Decimal


@dataclass(frozen=True, slots=True)
class V2ModelSpec:
    """One v2 model: its id, what it can do and its token budgets.

    ``reasoning``: it answers with ``reasoning_content`` when no switch is sent (always-on, or
    on by default); ``thinking``: the switch that turns reasoning on or off (None: it cannot
    reason, or has no switch we know); a hybrid model has ``reasoning`` False and a switch.
    ``max_output_tokens`` caps the answer (``max_tokens``; None: no documented bound);
    ``max_completion_tokens`` caps reasoning plus answer. ``interleaved``: inside one
    tool-call loop it takes earlier reasoning back (extensions section 2). ``detail``: it
    reads the ``detail`` of an image part (ERNIE 4.5 only, section 1).
    """

    id: str
    function_calling: bool
    reasoning: bool
    context_tokens: int
    max_output_tokens: int | None
    vision: bool = False
    thinking: ThinkingSwitch | None = None
    search: bool = False
    max_completion_tokens: int | None = None
    pricing: Pricing | None = None
    interleaved: bool = False
    detail: bool = False
    type: str = "chat"

    @property
    def can_reason(self) -> bool:
        """It reasons always, by default, or when its switch is on."""
        return self.reasoning or self.thinking is not None


def _price(prompt: str, completion: str) -> Pricing:
    return Pricing(Decimal(prompt), Decimal(completion))


_FREE: Final = _price("0", "0")


def _spec(
    model: str,
    *,
    tools: bool = True,
    reasoning: bool = False,
    context: int | None = None,
    max_output: int | None = None,
    **more: Any,
) -> V2ModelSpec:
    size = model.rsplit("-", 1)[-1]
    if context is None:
        context = int(size[:-1]) * 1024 if size.endswith("k") and size[:-1].isdigit() else 65_536
    # protocol-v2.md: "[2, 2048] for most 8k models"; other ranges are not documented.
    if max_output is None and size == "8k":
        max_output = 2048
    if more.get("vision"):
        more.setdefault("type", "multimodal")
    return V2ModelSpec(model, tools, reasoning, context, max_output, **more)


# Context sizes of the 2026 ids are [3p] where the facts file gives them; elsewhere 128K is an
# [unverified] guess generous enough that the local server refuses only absurd prompts.
_128K: Final = 131_072

V2_MODEL_SPECS: Final[tuple[V2ModelSpec, ...]] = (
    # -- 2024 ids (protocol-v2.md). Prices [3p], Baidu's public price page (2025).
    _spec("ernie-4.0-8k"),
    _spec("ernie-4.0-turbo-8k"),
    _spec("ernie-3.5-8k"),
    _spec("ernie-3.5-128k"),
    _spec("ernie-speed-8k", tools=False, pricing=_FREE),
    _spec("ernie-speed-128k", tools=False, pricing=_FREE),
    _spec("ernie-speed-pro-128k"),
    _spec("ernie-lite-8k", tools=False, pricing=_FREE),
    _spec("ernie-lite-pro-128k"),
    _spec("ernie-tiny-8k", tools=False, pricing=_FREE),
    _spec("ernie-char-8k", tools=False),
    _spec("ernie-novel-8k", tools=False),
    # -- ERNIE 4.5 (extensions sections 1, 2, 4).
    _spec(
        "ernie-4.5-turbo-128k",
        max_output=12_288,
        search=True,
        detail=True,
        pricing=_price("0.0008", "0.0032"),
    ),
    _spec(
        "ernie-4.5-turbo-32k",
        max_output=12_288,
        search=True,
        detail=True,
        pricing=_price("0.0008", "0.0032"),
    ),
    _spec("ernie-4.5-turbo-vl", context=_128K, vision=True, detail=True),
    _spec("ernie-4.5-turbo-vl-32k", vision=True, detail=True),
    _spec(
        "ernie-4.5-turbo-vl-preview",
        context=_128K,
        vision=True,
        detail=True,
        thinking="enable_thinking",
    ),
    _spec("ernie-4.5-turbo-vl-latest", context=_128K, vision=True, detail=True),
    _spec("ernie-4.5-turbo-vl-32k-preview", vision=True, detail=True, thinking="enable_thinking"),
    _spec("ernie-4.5-turbo-vl-32k-latest", vision=True, detail=True),
    _spec(
        "ernie-4.5-vl-28b-a3b", context=_128K, vision=True, detail=True, thinking="enable_thinking"
    ),
    _spec("ernie-4.5-8k-preview", vision=True, detail=True),
    _spec("ernie-4.5-21b-a3b", context=_128K, detail=True),
    # -- ERNIE 5 (extensions section 4 [3p]).
    _spec(
        "ernie-5.1",
        context=_128K,
        max_output=65_536,
        search=True,
        reasoning=True,
        thinking="thinking_budget",
    ),
    _spec("ernie-5.0", context=_128K, vision=True, search=True),
    _spec(
        "ernie-5.0-thinking-preview",
        context=_128K,
        vision=True,
        search=True,
        reasoning=True,
        thinking="enable_thinking",
        interleaved=True,
    ),
    _spec(
        "ernie-5.0-thinking-latest",
        context=_128K,
        vision=True,
        search=True,
        reasoning=True,
        thinking="enable_thinking",
    ),
    _spec("ernie-5.5-flash-preview", context=1_048_576),
    # -- ERNIE X1 (always reasons).
    _spec(
        "ernie-x1-turbo-32k", reasoning=True, thinking="always", pricing=_price("0.001", "0.004")
    ),
    _spec(
        "ernie-x1.1",
        context=65_536,
        max_output=65_536,
        search=True,
        reasoning=True,
        thinking="always",
    ),
    # -- DeepSeek.
    _spec("deepseek-v3"),  # 64k context
    _spec("deepseek-r1", reasoning=True, thinking="always"),
    _spec(
        "deepseek-v3.1-think-250821",
        context=163_840,
        max_output=32_768,
        max_completion_tokens=65_536,
        reasoning=True,
        thinking="always",
        pricing=_price("0.004", "0.012"),
    ),  # the section 4 fixture
    _spec("deepseek-v3.2", context=_128K, thinking="thinking_type", interleaved=True),
    _spec("deepseek-v3.2-think", context=_128K, reasoning=True, thinking="thinking_strategy"),
    _spec("deepseek-v4-pro", context=_128K, thinking="thinking_type_effort"),
    _spec("deepseek-v4-flash", context=_128K, thinking="thinking_type_effort"),
    _spec("deepseek-vl2", tools=False, context=4096, vision=True),
    # -- GLM, Kimi, Qwen, others.
    _spec("glm-5", context=_128K, thinking="thinking_type"),
    _spec("glm-5.1", context=_128K, thinking="thinking_type"),
    _spec("glm-4.5v", context=65_536, vision=True),
    _spec("kimi-k2.6", context=_128K),
    _spec("qwen3-235b-a22b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-32b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-30b-a3b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-14b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-8b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-4b", context=_128K, thinking="enable_thinking"),
    _spec("qwen3-1.7b", context=32_768, thinking="enable_thinking"),
    _spec("qwen3-0.6b", context=32_768, thinking="enable_thinking"),
    _spec("qianfan-vl-8b", tools=False, context=32_768, vision=True),
    _spec("qianfan-vl-70b", tools=False, context=32_768, vision=True),
)
V2_MODELS: Final[tuple[str, ...]] = tuple(spec.id for spec in V2_MODEL_SPECS)
_BY_ID: Final = {spec.id: spec for spec in V2_MODEL_SPECS}

# Families by id prefix, for ids the table lacks (first match wins; extensions sections 1, 2).
# Each row: (prefix, the fields it implies).
FAMILY_PREFIXES: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("qwen3-vl-", {"vision": True, "type": "multimodal"}),
    ("qwen2.5-vl-", {"vision": True, "type": "multimodal"}),
    ("internvl3-", {"vision": True, "type": "multimodal"}),
    ("qianfan-vl-", {"vision": True, "type": "multimodal"}),
    ("ernie-5.0-thinking-", {"vision": True, "reasoning": True, "thinking": "enable_thinking"}),
    ("ernie-4.5-turbo-vl", {"vision": True, "type": "multimodal"}),
    ("ernie-4.5-vl-", {"vision": True, "type": "multimodal", "thinking": "enable_thinking"}),
    ("ernie-5.1", {"reasoning": True, "thinking": "thinking_budget"}),
    ("ernie-x1", {"reasoning": True, "thinking": "always"}),
    ("deepseek-r1", {"reasoning": True, "thinking": "always"}),
    ("deepseek-v4", {"thinking": "thinking_type_effort"}),
    ("deepseek-v3.2-think", {"reasoning": True, "thinking": "thinking_strategy"}),
    ("deepseek-v3.2", {"thinking": "thinking_type"}),
    ("deepseek-v3.1-think", {"reasoning": True, "thinking": "always"}),
    ("deepseek-vl", {"vision": True, "type": "multimodal"}),
    ("glm-5", {"thinking": "thinking_type"}),
    ("glm-4.5v", {"vision": True, "type": "multimodal"}),
    ("qwen3", {"thinking": "enable_thinking"}),
)


def v2_model(model: str) -> V2ModelSpec | None:
    """The spec of a v2 model id (exact, lower case), or None if it is not a known id."""
    return _BY_ID.get(model)


def family_hint(model: str) -> V2ModelSpec | None:
    """The table's spec, else a guess from the id's family prefix (context and caps unknown),
    else None. For hints only: never a reason to refuse."""
    spec = _BY_ID.get(model)
    if spec is not None:
        return spec
    lowered = model.lower()
    for prefix, fields in FAMILY_PREFIXES:
        if lowered.startswith(prefix):
            base = V2ModelSpec(model, True, False, DEFAULT_CONTEXT_TOKENS, None)
            return replace(base, **fields)
    return None


def is_reasoning_model(model: str) -> bool:
    """``deepseek-r1``, the ``ernie-x1-*`` family and the other always-on or on-by-default
    reasoners answer with ``reasoning_content`` when no switch is sent."""
    spec = family_hint(model)
    return spec.reasoning if spec else False


def is_text_only(model: str) -> bool | None:
    """True when the table (or the family prefix) knows ``model`` and says it takes no
    images; None when it does not know the id (no hint then)."""
    spec = family_hint(model)
    return None if spec is None else not spec.vision


def catalogue_entry(
    spec: V2ModelSpec, *, owned_by: str = "baidu", created: int = 0
) -> dict[str, Any]:
    """One ``GET /v2/models`` list entry with the 2026 fields (extensions section 4): what the
    local server serves for each row of the table."""
    entry: dict[str, Any] = {
        "id": spec.id,
        "object": "model",
        "owned_by": owned_by,
        "created": created,
        "type": spec.type,
        "context_length": spec.context_tokens,
        "input_modalities": ["text", "image"] if spec.vision else ["text"],
        "output_modalities": ["text"],
    }
    if spec.max_output_tokens is not None:
        entry["max_tokens"] = spec.max_output_tokens
    if spec.max_completion_tokens is not None:
        entry["max_completions_tokens"] = spec.max_completion_tokens  # (sic), section 4
    if spec.pricing is not None:
        entry["pricing"] = {
            "prompt": str(spec.pricing.prompt),
            "completion": str(spec.pricing.completion),
        }
    return entry
