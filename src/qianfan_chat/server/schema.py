"""Example arguments that validate against a function's JSON Schema (for scripted tool calls).

The local server answers a function call without a matching rule by generating arguments from
the function's ``parameters`` schema, so a client's argument parsing and validation can be tested
offline. The values are TEST DATA: the first ``enum`` value, a short string, the minimum number,
``true``, one-item arrays; nothing is inferred from the conversation.

Covered: ``type`` (also a list of types), ``properties``/``required``, ``items``, ``enum``,
``const``, ``default``, ``examples``, ``anyOf``/``oneOf``/``allOf`` (first branch), string
``minLength``/``maxLength``/``format``, number ``minimum``/``maximum``/``exclusive*``/
``multipleOf``, array ``minItems``/``maxItems``. ``pattern`` is not honoured (a string matching
an arbitrary regex cannot be built in general); a rule can script exact arguments instead.

Bounded, because the schema comes from the request: a value nests at most ``_MAX_DEPTH`` levels,
an array has at most ``MAX_ITEMS`` items and a string at most ``MAX_STRING_CHARS`` characters
(a larger ``minItems`` / ``minLength`` is not met), and one call's arguments have at most
``MAX_NODES`` values and ``MAX_TOTAL_CHARS`` string characters in all (past either, what is
left is filled with the smallest value). Without
these a 376-byte request with nested ``minItems: 200`` built a 96 MB reply. Non-finite numbers
in the schema are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_MAX_DEPTH = 12  # Recursive schemas ($ref cycles are not followed, but nesting can be deep).
MAX_ITEMS = 16  # items in one generated array, whatever minItems asks
MAX_STRING_CHARS = 1024  # characters in one generated string, whatever minLength asks
MAX_NODES = 2000  # values in one call's generated arguments
MAX_TOTAL_CHARS = 65_536  # characters of generated strings in one call's arguments


class _Budget:
    __slots__ = ("chars", "left")

    def __init__(self) -> None:
        self.left = MAX_NODES
        self.chars = MAX_TOTAL_CHARS

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
}


def example_arguments(parameters: Any) -> dict[str, Any]:
    """Arguments for a function whose ``parameters`` schema is given (an object schema).

    >>> example_arguments({"type": "object", "properties": {"city": {"type": "string"}},
    ...                    "required": ["city"]})
    {'city': '示例'}
    """
    value = example_value(parameters) if isinstance(parameters, Mapping) else {}
    return value if isinstance(value, dict) else {}


def example_value(schema: Any, depth: int = 0, budget: _Budget | None = None) -> Any:
    """One value that validates against ``schema`` (best effort and bounded, see the module
    notes)."""
    if budget is None:
        budget = _Budget()
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH or not budget.take():
        return "示例"
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return _first_branch(schema, key, branches, depth, budget)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, depth, budget)
    if kind == "array":
        return _array(schema, depth, budget)
    if kind == "string":
        return _string(schema, budget)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "示例"


def _first_branch(
    schema: Mapping[str, Any], key: str, branches: list[Any], depth: int, budget: _Budget
) -> Any:
    if key == "allOf":  # Merge the branches: each one constrains the same value.
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for branch in branches:
            if isinstance(branch, Mapping):
                for k, v in branch.items():
                    if k == "properties" and isinstance(v, Mapping):
                        merged["properties"] = {**merged.get("properties", {}), **v}
                    elif k == "required" and isinstance(v, list):
                        merged["required"] = [*merged.get("required", []), *v]
                    else:
                        merged.setdefault(k, v)
        return example_value(merged, depth + 1, budget)
    # anyOf/oneOf: prefer a non-null branch, so an Optional[X] argument still gets an X.
    for branch in branches:
        if not (isinstance(branch, Mapping) and branch.get("type") == "null"):
            return example_value(branch, depth + 1, budget)
    return None


def _type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        names = [k for k in kind if isinstance(k, str) and k != "null"]
        kind = names[0] if names else (kind[0] if kind else None)
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _object(schema: Mapping[str, Any], depth: int, budget: _Budget) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    # Required properties are what validation needs; with no `required` list every declared
    # property is filled, so a function whose parameters are all optional still gets some.
    names = (
        [n for n in required if isinstance(n, str)]
        if isinstance(required, list)
        else list(properties)
    )
    return {name: example_value(properties.get(name, {}), depth + 1, budget) for name in names}


def _array(schema: Mapping[str, Any], depth: int, budget: _Budget) -> list[Any]:
    items = schema.get("items", {})
    count = min(max(1, _int(schema.get("minItems"), 1)), MAX_ITEMS)
    max_items = schema.get("maxItems")
    if isinstance(max_items, int) and not isinstance(max_items, bool):
        count = min(count, max_items)
    if isinstance(items, list):  # Tuple form (draft 4-2019): one value per position.
        return [example_value(item, depth + 1, budget) for item in items[:MAX_ITEMS]]
    # One value per item (not one shared): each counts against the budget, as its JSON does.
    return [example_value(items, depth + 1, budget) for _ in range(max(count, 0))]


def _string(schema: Mapping[str, Any], budget: _Budget) -> str:
    fmt = schema.get("format")
    text = _FORMATS.get(fmt, "示例") if isinstance(fmt, str) else "示例"
    min_len = min(_int(schema.get("minLength"), 0), MAX_STRING_CHARS, max(budget.chars, 0))
    budget.chars -= max(min_len, len(text))
    if len(text) < min_len:
        text += "x" * (min_len - len(text))
    max_len = schema.get("maxLength")
    if isinstance(max_len, int) and not isinstance(max_len, bool) and len(text) > max_len:
        text = text[: max(max_len, 0)]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    low = _num(schema.get("minimum"))
    high = _num(schema.get("maximum"))
    ex_low = _num(schema.get("exclusiveMinimum"))
    ex_high = _num(schema.get("exclusiveMaximum"))
    step = _num(schema.get("multipleOf"))
    value: float = 1
    if low is not None:
        value = low
    elif ex_low is not None:
        value = math.floor(ex_low) + 1 if integer else ex_low + (step or 1)
    elif high is not None and high < value:
        value = high
    elif ex_high is not None and ex_high <= value:
        value = math.ceil(ex_high) - 1 if integer else ex_high - (step or 1)
    try:
        if step:
            value = math.ceil(value / step) * step
        if integer:
            return math.ceil(value)
    except (OverflowError, ValueError):  # huge bounds over a tiny step: give up on the step
        return math.ceil(low) if integer and low is not None else (low if low is not None else 1)
    return value if math.isfinite(value) else 1


def _num(value: Any) -> float | None:
    """A usable bound: a finite number (an int past float range, NaN and Infinity are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None


def _int(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
