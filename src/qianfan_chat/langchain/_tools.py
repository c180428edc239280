"""Tools and ``tool_choice`` for the v1 API, as pure functions.

v1 function calling (``protocol.md`` section 1) takes ``functions``: ``[{name, description,
parameters (JSON Schema), responses?, examples?}]`` and ``tool_choice`` in one form only,
``{"type": "function", "function": {"name": ...}}``, which forces that function. LangChain's
choices map onto it like this (:func:`convert_tool_choice`):

=======================================  ========================================================
``tool_choice``                          sent to v1
=======================================  ========================================================
``None``, ``"auto"``                     nothing: the model decides
``"none"``, ``False``                    no ``functions`` at all: the only way v1 can promise
                                         that no function is called
a tool name, ``{"type": "function",      ``{"type": "function", "function": {"name": ...}}``
"function": {"name": ...}}``,
``{"type": "tool", "name": ...}``
``"any"``, ``"required"``, ``True``      with one tool: that tool, forced. With several: nothing,
                                         because v1 cannot require "one of these"; the model
                                         may then answer in text (``bind_tools`` warns)
=======================================  ========================================================

A raw string is never sent: v1 rejects it. An unknown tool name raises ``ValueError`` before
any request.

v2 (OpenAI-compatible, ``protocol-v2.md``) takes OpenAI's ``tools``
(``[{"type": "function", "function": {name, description, parameters}}]``,
:func:`convert_to_qianfan_tool`) and every ``tool_choice`` natively
(:func:`convert_tool_choice_v2`):

=======================================  ========================================================
``tool_choice``                          sent to v2
=======================================  ========================================================
``None``                                 nothing: the model decides (v2's default, ``auto``)
``"auto"``                               ``"auto"``
``"none"``, ``False``                    ``"none"`` (the tools are still sent)
``"any"``, ``"required"``, ``True``,     ``"required"``: some call, among all the tools
``{"type": "any"}``
a tool name, ``{"type": "function",      ``{"type": "function", "function": {"name": ...}}``
"function": {"name": ...}}``,
``{"type": "tool", "name": ...}``
=======================================  ========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

ToolChoiceMode = Literal["auto", "none", "any"]


class ToolChoiceNotForcedWarning(UserWarning):
    """``tool_choice="any"`` (or ``"required"``) with several tools: v1 can force one named
    function only, so the model may answer without calling any."""


_ANY = frozenset({"any", "required"})
_V1_FUNCTION_KEYS = ("name", "description", "parameters", "responses", "examples")


def _is_v1_function(tool: Any) -> bool:
    return (
        isinstance(tool, Mapping)
        and isinstance(tool.get("name"), str)
        and "type" not in tool
        and "input_schema" not in tool
        and set(tool) <= set(_V1_FUNCTION_KEYS)
    )


def convert_to_qianfan_function(tool: Any) -> dict[str, Any]:
    """A v1 ``functions`` item from any LangChain tool-like object: a ``BaseTool``, a function,
    a Pydantic model, a TypedDict, an OpenAI/Anthropic tool dict or a JSON Schema.

    >>> convert_to_qianfan_function({"name": "f", "description": "d", "parameters": {}})
    {'name': 'f', 'description': 'd', 'parameters': {}}
    """
    if _is_v1_function(tool):
        return dict(tool)
    # Imported here: only binding tools needs it, and it is not cheap to import.
    from langchain_core.utils.function_calling import convert_to_openai_tool

    function = convert_to_openai_tool(tool)["function"]
    return {k: function[k] for k in _V1_FUNCTION_KEYS if function.get(k) is not None}


def tool_choice_mode(tool_choice: Any) -> tuple[ToolChoiceMode, str | None]:
    """Normalise LangChain's ``tool_choice`` spellings: ``(mode, forced name)``."""
    if tool_choice is None or tool_choice == "auto":
        return "auto", None
    if tool_choice is True:
        return "any", None
    if tool_choice is False or tool_choice == "none":
        return "none", None
    if isinstance(tool_choice, str):
        return ("any", None) if tool_choice in _ANY else ("auto", tool_choice)
    if isinstance(tool_choice, Mapping):
        kind = tool_choice.get("type")
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
        if isinstance(name, str) and name and kind in (None, "function", "tool"):
            return "auto", name
        if kind in ("auto", "none", "any", "required") and name is None:
            return tool_choice_mode(kind)
    raise ValueError(
        f"unsupported tool_choice {tool_choice!r}: use 'auto', 'none', 'any', 'required', a "
        "tool name or {'type': 'function', 'function': {'name': ...}}"
    )


def convert_tool_choice(
    tool_choice: Any, function_names: Sequence[str]
) -> dict[str, Any] | Literal["none"] | None:
    """What to send for ``tool_choice`` given the request's function names (table above):
    the v1 object, ``"none"`` (meaning: send no ``functions``), or ``None`` (send nothing)."""
    mode, forced = tool_choice_mode(tool_choice)
    if mode == "none":
        return "none"
    if mode == "any":
        if len(function_names) == 1:
            forced = function_names[0]
        else:
            return None
    if forced is None:
        return None
    if forced not in function_names:
        raise ValueError(
            f"tool_choice names {forced!r}, which is not among the tools: "
            + (", ".join(repr(n) for n in function_names) or "(none)")
        )
    return {"type": "function", "function": {"name": forced}}


def choice_is_weakened(tool_choice: Any, function_names: Sequence[str]) -> bool:
    """True when the choice asks for *some* call among several tools, which v1 cannot force."""
    mode, _ = tool_choice_mode(tool_choice)
    return mode == "any" and len(function_names) > 1


# -- v2 -----------------------------------------------------------------------------------------

_V2_FUNCTION_KEYS = ("name", "description", "parameters")


def convert_to_qianfan_tool(tool: Any) -> dict[str, Any]:
    """A v2 ``tools`` item (OpenAI's shape) from any LangChain tool-like object, or from a v1
    ``functions`` item.

    Only ``name``, ``description`` and ``parameters`` are sent: the fields ``protocol-v2.md``
    documents (OpenAI's ``strict`` is not among them).

    >>> convert_to_qianfan_tool({"name": "f", "description": "d", "parameters": {}})
    {'type': 'function', 'function': {'name': 'f', 'description': 'd', 'parameters': {}}}
    """
    function = convert_to_qianfan_function(tool)
    kept = {k: function[k] for k in _V2_FUNCTION_KEYS if function.get(k) is not None}
    return {"type": "function", "function": kept}


def convert_tool_choice_v2(tool_choice: Any, tool_names: Sequence[str]) -> Any:
    """What to send as v2's ``tool_choice`` (table above), or None to send nothing. A name
    that is not among ``tool_names`` raises ``ValueError``."""
    if tool_choice is None:
        return None
    mode, forced = tool_choice_mode(tool_choice)
    if forced is not None:
        if forced not in tool_names:
            raise ValueError(
                f"tool_choice names {forced!r}, which is not among the tools: "
                + (", ".join(repr(n) for n in tool_names) or "(none)")
            )
        return {"type": "function", "function": {"name": forced}}
    return "required" if mode == "any" else mode
