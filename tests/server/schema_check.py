"""A small JSON Schema checker for the tests (the keywords the generated arguments must meet).

The project has no jsonschema dependency; this covers type, enum, const, required,
properties, additionalProperties, items, min/maxItems, min/maxLength, minimum/maximum,
exclusive bounds, multipleOf, anyOf, oneOf and allOf.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(value: Any, schema: Any, where: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty: valid)."""
    if not isinstance(schema, dict):
        return []
    out: list[str] = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds and not any(_TYPES[k](value) for k in kinds):
        return [f"{where}: {value!r} is not {kinds}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: not const")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in enum")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{where}: missing {name}")
        for name, item in value.items():
            if name in props:
                out += errors(item, props[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{where}: extra {name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: too few items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{where}: too many items")
        for i, item in enumerate(value):
            out += errors(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{where}: too long")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: above maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{where}: not above exclusiveMinimum")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(f"{where}: not below exclusiveMaximum")
        if "multipleOf" in schema and (value / schema["multipleOf"]) % 1:
            out.append(f"{where}: not a multiple")
    if "anyOf" in schema and all(errors(value, s, where) for s in schema["anyOf"]):
        out.append(f"{where}: matches no anyOf branch")
    if "oneOf" in schema and sum(not errors(value, s, where) for s in schema["oneOf"]) != 1:
        out.append(f"{where}: does not match exactly one oneOf branch")
    for sub in schema.get("allOf", []):
        out += errors(value, sub, where)
    return out
