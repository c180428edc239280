"""``with_structured_output`` for both API versions: which request makes a reply follow a schema,
and which parser reads it back. Pure: it binds and composes runnables, nothing else.

=====================  ======================================  ==================================
``method``             v2 (``protocol-v2.md``)                 v1 (``protocol.md`` section 1)
=====================  ======================================  ==================================
``function_calling``   the schema as the one tool, forced by   the same, as a ``functions`` item
(default)              name; its arguments are the answer      forced by ``tool_choice``
``json_schema``        ``response_format={"type":              v1 has no JSON-schema format: the
                       "json_schema", "json_schema": {name,    forced function call, as above
                       schema, strict?}}``; the text is the
                       answer
``json_mode``          ``response_format={"type":              ``response_format="json_object"``
                       "json_object"}``; the prompt must name
                       the keys
=====================  ======================================  ==================================

``function_calling`` stays the default on v2 as on v1 (and as in langchain-openai's base class):
every function-calling model has it, while the v2 docs do not say which models honour
``json_schema``. ``strict`` is sent only in v2's ``json_schema`` (its schema then gets OpenAI's
strict form, as langchain-openai does); functions have no strict mode in either API. A Pydantic
schema is validated by the parser; ``include_raw=True`` returns ``{"raw", "parsed",
"parsing_error"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from ._tools import convert_to_qianfan_function

Method = Literal["function_calling", "json_mode", "json_schema"]
BindTools = Callable[..., Runnable[LanguageModelInput, AIMessage]]
Bind = Callable[..., Runnable[LanguageModelInput, AIMessage]]


def json_schema_format(schema: dict[str, Any] | type, strict: bool | None) -> dict[str, Any]:
    """v2's ``response_format`` for ``schema`` (a Pydantic class, TypedDict or JSON Schema).

    >>> json_schema_format({"title": "A", "type": "object", "properties": {}}, None)["json_schema"]
    {'name': 'A', 'schema': {'type': 'object', 'properties': {}}}
    """
    from langchain_core.utils.function_calling import convert_to_openai_function

    function = convert_to_openai_function(schema, strict=strict)
    json_schema: dict[str, Any] = {"name": function["name"], "schema": function["parameters"]}
    if strict is not None:
        json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


def structured_output(
    schema: dict[str, Any] | type | None,
    *,
    method: Method,
    include_raw: bool,
    strict: bool | None,
    v2: bool,
    bind_tools: BindTools,
    bind: Bind,
) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
    """The runnable ``with_structured_output`` returns (table above); ``bind_tools`` and
    ``bind`` are the model's."""
    from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
    from langchain_core.output_parsers.openai_tools import (
        JsonOutputKeyToolsParser,
        PydanticToolsParser,
    )
    from langchain_core.utils.pydantic import is_basemodel_subclass

    if method not in ("function_calling", "json_mode", "json_schema"):
        raise ValueError(
            f"unknown method {method!r}: use 'function_calling', 'json_mode' or 'json_schema'"
        )
    if schema is None and method != "json_mode":
        raise ValueError(f"method={method!r} needs a schema")
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    trace: dict[str, Any] = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    text_parser: Runnable[Any, Any] = (
        PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
        if is_pydantic
        else JsonOutputParser()
    )
    parser: Runnable[Any, Any]
    if method == "json_mode" or (method == "json_schema" and v2):
        if method == "json_mode":
            response_format: Any = {"type": "json_object"} if v2 else "json_object"
            trace["kwargs"] = {"method": "json_mode"}
        else:
            assert schema is not None  # checked above
            response_format = json_schema_format(schema, strict)
        bound: dict[str, Any] = {"response_format": response_format}
        if schema is not None:
            bound["ls_structured_output_format"] = trace
        llm = bind(**bound)
        parser = text_parser
    else:
        assert schema is not None
        name = convert_to_qianfan_function(schema)["name"]
        llm = bind_tools([schema], tool_choice=name, ls_structured_output_format=trace)
        if is_pydantic:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    if not include_raw:
        return llm | parser
    from langchain_core.runnables import RunnableMap, RunnablePassthrough

    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parse.with_fallbacks([parse_none], exception_key="parsing_error")
    return RunnableMap(raw=llm) | with_fallback
