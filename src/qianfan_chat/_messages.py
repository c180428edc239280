"""``Messages``: a multi-turn conversation that keeps v1's role order for you.

It *is* a ``list`` of message dicts, so it goes anywhere one does (``do(messages=msgs)``,
``json.dumps(msgs)``). Baidu's SDK names work too: ``QfMessages`` (the same class),
``QfRole`` / ``Role`` (``append(text, role=QfRole.User)``) and ``_to_list()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidRequestError
from ._response import QfResponse


class _Role(str):
    """A role: the string itself, with the SDK enum's ``.value``."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)


class QfRole:
    """Message roles, by the SDK's names (``QfRole.User``); each is also its string, and has
    ``.value`` as the SDK's enum members do. (Not an ``Enum``: importing ``enum`` would add to
    ``import qianfan_chat``.)"""

    User = _Role("user")
    Assistant = _Role("assistant")
    Function = _Role("function")
    System = _Role("system")
    Tool = _Role("tool")


Message = dict[str, Any]


def _reply_message(body: Mapping[str, Any]) -> Message:
    if "choices" in body:  # v2: the first choice's message, tool calls included
        choices = body.get("choices") or [{}]
        reply = choices[0].get("message") or {}
        msg: Message = {"role": "assistant", "content": reply.get("content") or ""}
        if reply.get("tool_calls"):
            msg["tool_calls"] = [dict(c) for c in reply["tool_calls"]]
        return msg
    msg = {"role": "assistant", "content": body.get("result") or ""}
    if body.get("function_call"):
        msg["function_call"] = dict(body["function_call"])
    return msg


def _pending_tool_call(messages: list[Message]) -> Mapping[str, Any] | None:
    """v2: the first tool call of the last assistant turn that no tool message answers yet."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            answered = {m.get("tool_call_id") for m in messages[i + 1 :]}
            calls: list[Mapping[str, Any]] = messages[i].get("tool_calls") or []
            for call in calls:
                if call.get("id") not in answered:
                    return call
            return None
    return None


class Messages(list[Message]):
    """A conversation for the chat API.

    ``append(text)`` adds a turn with the role that must come next (user, then assistant, ...);
    ``append(response)`` adds the model's reply, function call included, and the string appended
    after a function call becomes that function's ``function`` message (v2: after a reply with
    ``tool_calls``, each string becomes the ``tool`` message of the next unanswered call)::

        msgs = Messages()
        msgs.append("北京天气如何?")
        resp = chat.do(messages=msgs, functions=[weather_fn])
        msgs.append(resp)                      # assistant turn with function_call
        msgs.append('{"temperature": 25}')     # function message, name taken from the call
        resp = chat.do(messages=msgs, functions=[weather_fn])
    """

    def __init__(self, messages: Iterable[Mapping[str, Any]] = ()) -> None:
        super().__init__(dict(m) for m in messages)

    def append(  # type: ignore[override]
        self, message: str | QfResponse | Mapping[str, Any], role: str | None = None
    ) -> None:
        """Add a turn: text (its role is the one that must come next unless ``role`` is given),
        a reply (:class:`QfResponse` or its body), or a whole message dict. Anything else
        raises :class:`InvalidRequestError` (the SDK's ``InvalidArgumentError``)."""
        if role is not None:
            role = str(role)
        if isinstance(message, QfResponse):
            reply = _reply_message(message.body)
            if role is not None:
                reply["role"] = role
            super().append(reply)
            return
        if isinstance(message, Mapping):
            if "role" in message:
                super().append(dict(message))
            else:  # a raw reply body
                super().append(_reply_message(message))
            return
        if not isinstance(message, str):
            raise InvalidRequestError(
                "message",
                f"must be text, a QfResponse or a message dict, got {type(message).__name__}",
            )
        entry: Message = {"role": role or self._next_role(), "content": message}
        if entry["role"] == "function" and self:
            call = self[-1].get("function_call")
            if isinstance(call, Mapping) and call.get("name"):
                entry["name"] = call["name"]
        if entry["role"] == "tool":
            pending = _pending_tool_call(self)
            if pending is not None:
                entry["tool_call_id"] = pending.get("id")
                name = (pending.get("function") or {}).get("name")
                if name:
                    entry["name"] = name
        super().append(entry)

    def _next_role(self) -> str:
        if not self:
            return "user"
        if _pending_tool_call(self) is not None:
            return "tool"
        last = self[-1]
        if last.get("role") == "assistant":
            return "function" if last.get("function_call") else "user"
        if last.get("role") in ("system", "developer", "tool"):
            return "user" if last.get("role") != "tool" else "assistant"
        return "assistant"

    def copy(self) -> Messages:
        return Messages(self)

    def _to_list(self) -> list[Message]:
        """The SDK's name: the messages as a plain list of dicts."""
        return [dict(m) for m in self]


QfMessages = Messages  # the SDK's name
