"""LangChain integration: :class:`QianfanChatEndpoint`, a chat model over the v1 client.

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

``import qianfan_chat`` never imports this package (nor LangChain).
"""

from __future__ import annotations

from ._convert import content_to_text, convert_chunk, convert_messages, convert_response
from ._tools import ToolChoiceNotForcedWarning, convert_to_qianfan_function, convert_tool_choice
from .chat_models import QianfanChatEndpoint

__all__ = [
    "QianfanChatEndpoint",
    "ToolChoiceNotForcedWarning",
    "content_to_text",
    "convert_chunk",
    "convert_messages",
    "convert_response",
    "convert_to_qianfan_function",
    "convert_tool_choice",
]
