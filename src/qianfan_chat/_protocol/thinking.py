"""The one ``thinking`` option, translated into each model family's switch; and, for the
local server, whether a body's switch turns reasoning on.

Source: ``shared/docs/protocol-v2-extensions.md`` section 2. The option is ``True`` / ``False``,
a budget in tokens (an int), or an effort name (:data:`EFFORTS`). The switch comes from the
capability table (:func:`.models_v2.family_hint`); an id neither the table nor a family prefix
knows gets ``enable_thinking``, the switch most families document. Raw switch fields a caller
sends themselves are never overwritten (:func:`merge_thinking`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .models_v2 import ThinkingSwitch, family_hint

ThinkingOption = bool | int | str

ENABLE_THINKING: Final = "enable_thinking"
THINKING_BUDGET: Final = "thinking_budget"
THINKING: Final = "thinking"
REASONING_EFFORT: Final = "reasoning_effort"
THINKING_STRATEGY: Final = "thinking_strategy"
THINKING_ENABLED: Final = "enabled"
THINKING_DISABLED: Final = "disabled"
# Every raw field that is a switch: the caller's own wins over the translation.
SWITCH_FIELDS: Final = (
    ENABLE_THINKING,
    THINKING_BUDGET,
    THINKING,
    REASONING_EFFORT,
    THINKING_STRATEGY,
)

EFFORTS: Final = ("minimal", "low", "medium", "high", "max")
# reasoning_effort takes high|max; low/medium are read as high [3p->doc]: send what is documented.
EFFORT_SENT: Final = {
    "minimal": "high",
    "low": "high",
    "medium": "high",
    "high": "high",
    "max": "max",
}
# An effort as a budget, for the budget switch; "max" leaves the model's own ceiling.
EFFORT_BUDGET: Final = {"minimal": 512, "low": 1024, "medium": 4096, "high": 16_384, "max": None}
MIN_THINKING_BUDGET: Final = 100  # ernie-5.1 [3p->doc]
# A budget at or above this asks for the "max" effort on the effort switch.
MAX_EFFORT_BUDGET: Final = 32_768
THINKING_STRATEGIES: Final = ("short_think", "chain_of_draft")


def check_option(thinking: Any) -> str | None:
    """Why ``thinking`` is not a valid option (a rule text), or None."""
    if isinstance(thinking, bool):
        return None
    if isinstance(thinking, int):
        return None if thinking >= 0 else "a budget must be a token count >= 0"
    if isinstance(thinking, str) and thinking in EFFORTS:
        return None
    return f"must be True, False, a budget in tokens or one of {', '.join(EFFORTS)}"


def switch_of(model: str) -> ThinkingSwitch:
    """The switch family of ``model``: the table's, else its prefix's, else enable_thinking."""
    spec = family_hint(model)
    return spec.thinking if spec is not None and spec.thinking else "enable_thinking"


def _effort(thinking: ThinkingOption) -> str:
    if isinstance(thinking, str):
        return EFFORT_SENT[thinking]
    if not isinstance(thinking, bool) and thinking >= MAX_EFFORT_BUDGET:
        return "max"
    return "high"


def thinking_fields(model: str, thinking: ThinkingOption) -> dict[str, Any]:
    """The body fields that ask ``model`` for ``thinking``. A budget of 0 means off.

    >>> thinking_fields("qwen3-32b", True)
    {'enable_thinking': True}
    >>> thinking_fields("deepseek-v3.2", False)
    {'thinking': {'type': 'disabled'}}
    """
    on = thinking is not False and thinking != 0
    switch = switch_of(model)
    if switch == "always":
        return {}  # no switch: it reasons whatever is sent
    if switch == "thinking_strategy":
        return {}  # a strategy, not an on/off switch: pass thinking_strategy raw
    if switch == "enable_thinking":
        return {ENABLE_THINKING: on}
    if switch == "thinking_budget":
        if not on:
            return {}  # [unverified] no documented off; the model's own default stands
        if isinstance(thinking, bool):
            return {}
        budget = EFFORT_BUDGET[thinking] if isinstance(thinking, str) else thinking
        return {} if budget is None else {THINKING_BUDGET: max(MIN_THINKING_BUDGET, budget)}
    if switch == "reasoning_effort":
        return {REASONING_EFFORT: _effort(thinking)} if on else {}
    fields: dict[str, Any] = {THINKING: {"type": THINKING_ENABLED if on else THINKING_DISABLED}}
    if switch == "thinking_type_effort" and on and not isinstance(thinking, bool):
        fields[REASONING_EFFORT] = _effort(thinking)
    return fields


def merge_thinking(
    model: str, thinking: ThinkingOption | None, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The translated fields the caller's ``params`` do not already set (raw fields win)."""
    if thinking is None:
        return {}
    if any(params.get(name) is not None for name in SWITCH_FIELDS):
        return {}
    return thinking_fields(model, thinking)


def thinking_on(model: str, body: Mapping[str, Any]) -> bool:
    """Whether a request body makes ``model`` reason (every plausible switch form is read, so
    a caller who sends another family's switch is understood too). Always-on and
    on-by-default models reason unless a switch turns them off."""
    spec = family_hint(model)
    default = bool(spec and spec.reasoning)
    if spec is not None and spec.thinking == "always":
        return True
    if spec is None or spec.thinking is None:
        return default  # a model that cannot reason ignores switches
    flag = body.get(ENABLE_THINKING)
    if isinstance(flag, bool):
        return flag
    block = body.get(THINKING)
    if isinstance(block, Mapping) and block.get("type") in (THINKING_ENABLED, THINKING_DISABLED):
        return bool(block["type"] == THINKING_ENABLED)
    if isinstance(block, bool):
        return block
    budget = body.get(THINKING_BUDGET)
    if isinstance(budget, int) and not isinstance(budget, bool):
        return budget > 0
    if isinstance(body.get(REASONING_EFFORT), str):
        return True
    if isinstance(body.get(THINKING_STRATEGY), str):
        return True
    return default
