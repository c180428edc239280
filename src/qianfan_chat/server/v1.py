"""The v1 routes (protocol.md section 1): OAuth token, wenxinworkshop chat, and error 3 for
every other path. One raw ASGI app serves them all.

Order of checks on a chat call: route (unknown suffix: 3), method (336101), body size (413 /
336001), faults, auth (110 / 111 / 14), JSON (336002), body rules (``check_body``: Baidu's code
and text), the last message's tokens against the model's input limit (336003), history
truncation, rate limits (18 / 336501 / 336502), then the scripted engine. Errors are
``{"error_code", "error_msg"}`` with HTTP 200, as Baidu answers them; a stream's errors found
before it starts are a plain JSON body too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .._protocol import wire
from .._protocol.rules_v1 import check_body, truncate_history
from .._protocol.tokens import estimate_tokens, message_tokens, prompt_tokens
from .auth import IAM_FAILED, GrantError, grant
from .codemap import v1_message
from .engine import EngineReply, EngineRequest, split_text
from .faults import Fault
from .routing import RouteApp
from .state import ChatTarget
from .wire import Exchange, dumps, reply_id

_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
UNSUPPORTED = 3
INTERNAL = 336000
TOO_LARGE = 336001
INVALID_JSON = 336002
INVALID_PARAM = 336003
BAD_METHOD = 336101
_FINISH = {"end": "normal", "stop": "stop", "calls": "function_call", "length": "length"}
_ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
_INVALID = object()


class V1App(RouteApp):
    """ASGI app for every non-admin path."""

    async def handle(self, ex: Exchange) -> None:
        state = self.state
        path: str = ex.scope["path"]
        if path.startswith(state.chat_prefix):
            target = state.targets.get(path[len(state.chat_prefix) :])
            if target is not None:
                await self.chat(ex, target)
                return
        elif path == wire.OAUTH_PATH:
            await self.oauth(ex)
            return
        await ex.send_error(UNSUPPORTED)

    async def internal_error(self, ex: Exchange) -> None:
        await ex.send_error(INTERNAL)

    async def fault_error(
        self, ex: Exchange, fault: Fault, extra_headers: list[tuple[bytes, bytes]]
    ) -> None:
        body = fault.body()
        await ex.send_json(
            body,
            status=fault.status or 200,
            error_code=body["error_code"],
            extra_headers=extra_headers,
        )

    def expire(self, credential: str) -> None:
        self.state.tokens.expire(credential)

    async def oauth(self, ex: Exchange) -> None:
        state = self.state
        if ex.method not in ("GET", "POST"):
            await ex.send_error(BAD_METHOD)
            return
        body = await ex.read_body(state.config.max_body_bytes)
        if body is None:
            await ex.send_error(TOO_LARGE, "request body too large", status=413)
            return
        params = dict(ex.query)
        content_type = ex.header(b"content-type") or ""
        if body and content_type.startswith("application/x-www-form-urlencoded"):
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(name, value)
        plan = state.faults.pick(route="oauth", path=ex.path)
        if plan is not None and (await self.apply_plan(ex, plan))[0]:
            return
        result = grant(params, state.config.ak_sk)
        if isinstance(result, GrantError):
            await ex.send_json(result.body(), status=result.status)
            return
        ex.entry.key = result
        await ex.send_json(state.tokens.issue(result))

    def _authenticate(self, ex: Exchange, token: str | None) -> tuple[str | None, int | None]:
        if token:
            return self.state.tokens.check(token)
        authorization = ex.header(_AUTHORIZATION)
        if authorization is None:
            return None, 110  # No credentials at all: Baidu answers "token invalid".
        key, _reason = self.check_request_signature(ex, authorization)
        return (key, None) if key is not None else (None, IAM_FAILED)

    async def chat(self, ex: Exchange, target: ChatTarget) -> None:
        state = self.state
        config = state.config
        if ex.method != "POST":
            await ex.send_error(BAD_METHOD)
            return
        raw = await ex.read_body(config.max_body_bytes)
        if raw is None:
            await ex.send_error(TOO_LARGE, "request body too large", status=413)
            return
        try:
            data: Any = json.loads(raw)
        except ValueError:  # Includes UnicodeDecodeError.
            data = _INVALID
        is_dict = isinstance(data, dict)
        stream = is_dict and data.get("stream") is True
        token = ex.query.get(wire.ACCESS_TOKEN_PARAM)
        cut: Fault | None = None
        plan = state.faults.pick(
            route="v1", path=ex.path, model_keys=target.keys, stream=stream, has_token=bool(token)
        )
        if plan is not None:
            answered, fault = await self.apply_plan(ex, plan, token or "")
            if answered:
                return
            if fault is not None and fault.kind == "stream_cut":
                cut = fault
        key, code = self._authenticate(ex, token)
        if key is None:
            await ex.send_error(code or 110)
            return
        ex.entry.key = key
        if not is_dict:
            await ex.send_error(INVALID_JSON)
            return
        violation = check_body(data)
        if violation is not None:
            await ex.send_error(int(violation.code), violation.message)  # v1 codes are ints
            return
        options = _options(data)
        if options is None:
            await ex.send_error(INVALID_PARAM)
            return
        messages: list[Mapping[str, Any]] = data["messages"]
        limit = target.max_input_tokens
        counts = [message_tokens(m) for m in messages]
        if counts[-1] > limit:
            await ex.send_error(INVALID_PARAM, f"the max length of current question is {limit}")
            return
        kept = truncate_history(messages, limit) if sum(counts) > limit else messages
        prompt = prompt_tokens(kept, data.get("system"))
        code = state.limiter.admit(key, prompt)
        if code is not None:
            await ex.send_error(code)
            return
        tool_choice, forced, response_format = options
        reply = state.engine.reply(
            EngineRequest(
                model=target.name,
                endpoint=target.suffix,
                messages=kept,
                functions=data.get("functions") or (),
                tool_choice=tool_choice,
                forced_function=forced,
                response_format=response_format,
                stop=data.get("stop") or (),
            )
        )
        if reply.error_code is not None:  # A v2 string code is translated (see codemap).
            await ex.send_error(*v1_message(reply.error_code, reply.error_msg))
            return
        call = reply.calls[0] if reply.calls else None
        completion = estimate_tokens(call.name + call.arguments if call else reply.text)
        state.limiter.add_tokens(key, completion)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        head: dict[str, Any] = {
            "id": reply_id(),
            "object": "chat.completion",
            "created": int(time.time()),
        }
        tail: dict[str, Any] = {"need_clear_history": reply.need_clear_history}
        if reply.need_clear_history or reply.ban_round is not None:
            tail["ban_round"] = reply.ban_round if reply.ban_round is not None else -1
        finish = reply.custom_finish_reason or _FINISH[reply.finish_reason]
        function_call = (
            {"name": call.name, "arguments": call.arguments, "thoughts": call.thoughts}
            if call
            else None
        )
        if not stream:
            body = {
                **head,
                "result": "" if call else reply.text,
                "is_truncated": False,
                **tail,
                "finish_reason": finish,
                "usage": usage,
            }
            if function_call is not None:
                body["function_call"] = function_call
            await ex.send_json(body)
            return
        await self._stream(ex, reply, head, tail, finish, usage, function_call, cut)

    async def _stream(
        self,
        ex: Exchange,
        reply: EngineReply,
        head: dict[str, Any],
        tail: dict[str, Any],
        finish: str,
        usage: dict[str, int],
        function_call: dict[str, str] | None,
        cut: Fault | None,
    ) -> None:
        config = self.state.config
        if function_call is not None:
            pieces = [""]
        elif reply.chunks is not None:
            pieces = list(reply.chunks) or [""]
        else:
            pieces = split_text(reply.text, config.stream_chunk_chars)
            if config.stream_end_empty and pieces[-1]:
                pieces.append("")
        count = len(pieces)
        stop_at = min(cut.after, count - 1) if cut is not None else count
        await ex.start_stream()
        for index, piece in enumerate(pieces):
            if index == stop_at and cut is not None:
                await (ex.drop() if cut.abort else ex.end_stream())
                return
            last = index == count - 1
            chunk = {
                **head,
                "sentence_id": index,
                "is_end": last,
                "is_truncated": False,
                "result": piece,
                **tail,
                "finish_reason": finish if last else "normal",
                "usage": usage if last else _ZERO_USAGE,
            }
            if last and function_call is not None:
                chunk["function_call"] = function_call
            await ex.send_event(dumps(chunk), last=last)
            if not last and config.stream_interval > 0:
                await asyncio.sleep(config.stream_interval)


def _options(data: Mapping[str, Any]) -> tuple[str, str | None, str | None] | None:
    """``(tool_choice mode, forced function, response_format)``, or None if malformed."""
    choice = data.get("tool_choice")
    mode, forced = "auto", None
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            return None
        mode = choice
    elif isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if choice.get("type", "function") != "function" or not isinstance(name, str) or not name:
            return None
        forced = name
    elif choice is not None:
        return None
    fmt = data.get("response_format")
    if isinstance(fmt, Mapping):
        fmt = fmt.get("type")
    if fmt is not None and not isinstance(fmt, str):
        return None
    return mode, forced, fmt
