"""LangChain integration: :class:`QianfanChatEndpoint`, a chat model over the client, speaking
Qianfan's v1 API or its OpenAI-compatible v2 API.

Needs the ``langchain`` extra (``pip install "qianfan-chat[langchain]"``)::

    from langchain_core.messages import HumanMessage
    from qianfan_chat.langchain import QianfanChatEndpoint

    chat = QianfanChatEndpoint(model="ERNIE-3.5-8K")      # QIANFAN_AK / QIANFAN_SK
    chat.invoke([HumanMessage("你好")])
    await chat.ainvoke("你好", temperature=0.2)
    for chunk in chat.stream("讲个故事"):
        print(chunk.content, end="")

It replaces ``langchain_community.chat_models.QianfanChatEndpoint`` (same fields and aliases:
``api_key``/``secret_key``, ``timeout``, ``init_kwargs``, ``model_kwargs``...). What it does
where LangChain and the v1 API disagree:

* **Defaults**: a parameter you did not set is not sent, so each model's own default applies
  (the community class always sent ``temperature=0.95, top_p=0.8, penalty_score=1``). The
  model defaults to the client's (``ERNIE-Bot-turbo``). ``temperature=0`` is sent as ``0.01``
  (v1 refuses 0). ``max_tokens`` is sent as ``max_output_tokens``; an empty ``stop`` list is
  not sent; ``max_retries`` and ``timeout`` are the client's ``retry_count`` and
  ``request_timeout``.
* **Messages** (:func:`convert_messages`): system messages go to ``system`` (or, when
  functions are sent, which v1 refuses together with ``system``, into the first user turn);
  adjacent turns of one side are merged; an assistant turn before the first or after the last
  user turn is dropped (v1 neither opens nor ends on the assistant; a trailing AI message is
  answered again); each tool call of an ``AIMessage`` becomes its own ``function_call`` turn
  followed by its ``ToolMessage`` (v1: one call per turn); list content is flattened to text,
  media blocks raise ``ValueError``.
* **Tool choice** (:func:`convert_tool_choice`): v1 can only force one named function. A
  name or ``{"type": "function", "function": {"name": ...}}`` forces it; ``"any"`` /
  ``"required"`` forces the tool when there is exactly one, and with several sends no choice
  (the model may answer in text; :class:`ToolChoiceNotForcedWarning` at bind time); ``"none"``
  leaves the functions out of the request.
* **Structured output**: ``function_calling`` (default) and ``json_schema`` force the schema
  as a function (v1 has no JSON-schema response format); ``json_mode`` sends
  ``response_format="json_object"``.
* **Results**: ``usage_metadata`` on ``invoke`` and on the final stream chunk only (the one
  with ``chunk_position="last"``; v1's intermediate chunks carry zero or running counts);
  ``response_metadata`` has ``model_name``, ``finish_reason``, ``id``, ``request_id`` and
  ``need_clear_history`` (True: Baidu judged the input unsafe; drop the history). v1 gives
  tool calls no id: they get ``call_{reply id}_{index}``.

**v2** (OpenAI-compatible, ``POST /v2/chat/completions``; ``protocol-v2.md``)::

    chat = QianfanChatEndpoint(model="ernie-3.5-8k", api_key="bce-v3/ALTAK-...")
    chat.bind_tools([get_weather, get_time], tool_choice="any").invoke("北京的天气和时间？")
    chat.with_structured_output(Joke, method="json_schema").invoke("讲个笑话")

What it does on v2:

* **Which API** (``api_version``): ``"v1"`` or ``"v2"``; unset, ``"v2"`` when the key is a v2
  API key (``api_key``/``qianfan_ak`` starting with ``bce-v3/``, or ``QIANFAN_API_KEY`` /
  ``QIANFAN_BEARER_TOKEN`` set with no v1 AK/SK pair nor access token, and no credential given
  as an argument), else ``"v1"``: the model's settings are resolved by the client's own
  resolver, :meth:`qianfan_chat.Settings.resolve`, which decides it (``resolved_api_version``
  says which; the environment is the one the model was made in). On v2, ``api_key`` is the API key
  (Bearer); unset, the client reads ``QIANFAN_API_KEY`` / ``QIANFAN_BEARER_TOKEN``, or IAM keys
  (``init_kwargs`` ``access_key``/``secret_key`` or ``QIANFAN_ACCESS_KEY``/``QIANFAN_SECRET_KEY``)
  that mint short-term keys; ``secret_key`` is not used (a warning says so); ``appid`` and
  ``iam_base_url`` go in ``init_kwargs``; ``base_url`` is the host (an OpenAI-style base
  URL ending in ``/v2`` works too).
* **Defaults**: the model defaults to ``ernie-lite-8k`` (no function calling; use e.g.
  ``ernie-3.5-8k``, ``ernie-4.0-8k``, ``ernie-4.5-turbo-32k`` for tools); v2 ids are lower
  case and a mis-cased known id (``"ERNIE-3.5-8K"``) fails at construction, while any other
  name passes (a deployed service's API name; ``endpoint`` is sent as the model when ``model``
  is unset). Parameters not set are not sent; ``temperature=0`` is sent as ``0.01`` (v2 also
  requires (0, 1]); ``max_tokens`` is sent as ``max_tokens`` and ``user_id`` as ``user`` (v1's
  per-call ``max_output_tokens`` / ``user_id`` are renamed too); an empty ``stop`` list is not
  sent. Streams ask for the usage chunk (``stream_options.include_usage``, the client's default).
* **Messages** (:func:`convert_messages_v2`): sent in order, as given, with no merging or
  dropping of turns (v2 has no alternation rule); system messages stay in ``messages`` where
  they are (``developer`` when marked so), after ``system`` (the persona field, sent as the
  first system message). An ``AIMessage`` with N tool calls is ONE assistant message with N
  ``tool_calls``; a ``ToolMessage`` is a ``tool`` message with its ``tool_call_id`` (and the
  function's ``name``); legacy ``FunctionMessage`` results answer the latest call of their function.
  List content is flattened to text; media blocks raise ``ValueError``; blank system messages
  and empty assistant messages are dropped; an empty tool result is sent as ``""``.
* **Tool choice** (:func:`convert_tool_choice_v2`), all native: ``"auto"``, ``"none"``,
  ``"any"``/``"required"``/``True`` → ``"required"``, a name or an OpenAI/Anthropic dict →
  ``{"type": "function", "function": {"name": ...}}``. ``strict`` in ``bind_tools`` is not sent
  (v2 documents no strict functions); ``parallel_tool_calls=False`` passes through.
* **Structured output**: ``function_calling`` (default, the schema as the one forced tool),
  ``json_schema`` → ``response_format={"type": "json_schema", "json_schema": {"name",
  "schema", "strict"?}}``, ``json_mode`` → ``{"type": "json_object"}``.
* **Results**: one ``AIMessage`` per reply with all its tool calls (ids from the reply;
  ``call_{reply id}_{index}`` if one is missing), ``reasoning_content`` in
  ``additional_kwargs``; streams yield ``tool_call_chunks`` (``index``/``id``/``name``/``args``
  pieces) and the usage exactly once, from the usage chunk, on the chunk marked
  ``chunk_position="last"`` (:class:`StreamConverterV2`: a stream without a usage chunk gets a
  last chunk of its own). ``usage_metadata`` counts cached input tokens (``cache_read``) and
  reasoning tokens when the reply does. ``response_metadata``: ``model_name`` (the reply's
  ``model``), ``finish_reason``, ``id``, ``created``, ``request_id``, Baidu's ``flag`` (0 safe
  ... 4 retract; in a stream the highest seen) and ``ban_round``.

Inside, :class:`QianfanChatEndpoint` (``chat_models``) has the fields and LangChain's entry
points, and speaks through one dialect object per API version (``_dialect_v1.V1Dialect``,
``_dialect_v2.V2Dialect``; the interface in ``_dialect``), chosen from the resolved
``Settings.version``: payloads, reply and stream conversion, tools, token counts. The
converters listed below are pure functions the dialects call (``_convert``, ``_convert_v2``,
``_tools``); ``_call`` is the prepared request and the results, ``_structured`` the
structured-output runnables.

``import qianfan_chat`` never imports this package (nor LangChain).
"""

from __future__ import annotations

from ._convert import content_to_text, convert_chunk, convert_messages, convert_response
from ._convert_v2 import StreamConverterV2, convert_messages_v2, convert_response_v2
from ._tools import (
    ToolChoiceNotForcedWarning,
    convert_to_qianfan_function,
    convert_to_qianfan_tool,
    convert_tool_choice,
    convert_tool_choice_v2,
)
from .chat_models import QianfanChatEndpoint

__all__ = [
    "QianfanChatEndpoint",
    "StreamConverterV2",
    "ToolChoiceNotForcedWarning",
    "content_to_text",
    "convert_chunk",
    "convert_messages",
    "convert_messages_v2",
    "convert_response",
    "convert_response_v2",
    "convert_to_qianfan_function",
    "convert_to_qianfan_tool",
    "convert_tool_choice",
    "convert_tool_choice_v2",
]
