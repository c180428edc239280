"""The v1 routes (protocol.md section 1): OAuth token, wenxinworkshop chat, and error 3 for
every other path. One raw ASGI app serves them all; :mod:`.v1_format` builds what it sends.

Order of checks on a chat call: route (unknown suffix: 3), method (336101), body size (413 /
336001), faults, auth (an access token: 110 / 111; else an IAM signature: 14; neither: 110),
JSON (336002: also NaN, Infinity, a number out of range, nesting past the stack), a value
JSON cannot carry back (a lone surrogate, deep nesting: 336003), body rules (``check_body``:
Baidu's code and text), ``tool_choice`` and
``response_format`` (336003), the last message's tokens against the model's input limit
(336003), history truncation, rate limits (18 / 336501 / 336502), then the scripted engine.
On the OAuth route: method (336101), body size (413 / 336001), faults, then the grant
(Baidu's ``{"error", "error_description"}`` with 400 / 401). Errors are ``{"error_code",
"error_msg"}`` with HTTP 200, as Baidu answers them; a stream's errors found before it starts
are a plain JSON body too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from .._protocol import wire
from .._protocol.rules_v1 import check_body, truncate_history
from .._protocol.tokens import message_tokens, prompt_tokens
from . import v1_format
from .auth import IAM_FAILED, GrantError, grant
from .codemap import v1_message
from .engine import EngineRequest
from .faults import Fault
from .routing import RouteApp
from .state import ChatTarget
from .wire import OFFLOAD_BYTES, Exchange, decode_body, dumps, off_loop, reply_id

_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
UNSUPPORTED = 3
INTERNAL = 336000
TOO_LARGE = 336001
INVALID_JSON = 336002
INVALID_PARAM = 336003
BAD_METHOD = 336101


async def send_error(
    ex: Exchange,
    code: int,
    message: str | None = None,
    *,
    status: int = 200,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Baidu's v1 error shape ``{"error_code", "error_msg"}``, HTTP 200 unless told."""
    await ex.send_json(
        v1_format.error_body(code, message),
        status=status,
        error_code=code,
        extra_headers=extra_headers,
    )


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
        await send_error(ex, UNSUPPORTED)

    async def internal_error(self, ex: Exchange) -> None:
        await send_error(ex, INTERNAL)

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
            await send_error(ex, BAD_METHOD)
            return
        body = await ex.read_body(state.config.max_body_bytes, state.config.body_timeout)
        if body is None:
            await send_error(ex, TOO_LARGE, "request body too large", status=413)
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
            await send_error(ex, BAD_METHOD)
            return
        raw = await ex.read_body(config.max_body_bytes, config.body_timeout)
        if raw is None:
            await send_error(ex, TOO_LARGE, "request body too large", status=413)
            return
        size = len(raw)
        data, unsafe = await off_loop(size, decode_body, raw, size > OFFLOAD_BYTES)
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
            await send_error(ex, code or 110)
            return
        ex.entry.key = key
        ex.entry.key_secret = key == token  # a ready token counts as its own key
        if not is_dict:
            await send_error(ex, INVALID_JSON)
            return
        if unsafe is not None:
            await send_error(ex, INVALID_PARAM)
            return
        checked = await off_loop(size, _check, data, target.max_input_tokens)
        if not isinstance(checked, _Checked):
            await send_error(ex, *checked)
            return
        options, kept, prompt = checked
        code = state.limiter.admit(key, prompt)
        if code is not None:
            await send_error(ex, code)
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
            await send_error(ex, *v1_message(reply.error_code, reply.error_msg))
            return
        completion = v1_format.completion_tokens(reply)
        state.limiter.add_tokens(key, completion)
        usage = v1_format.usage(prompt, completion)
        rid, created = reply_id(), int(time.time())
        if not stream:
            await ex.send_json(v1_format.completion(reply, rid=rid, created=created, usage=usage))
            return
        frames = v1_format.chunks(
            reply,
            rid=rid,
            created=created,
            usage=usage,
            chunk_chars=config.stream_chunk_chars,
            end_empty=config.stream_end_empty,
        )
        await self._stream(ex, frames, cut)

    async def _stream(self, ex: Exchange, frames: list[dict[str, Any]], cut: Fault | None) -> None:
        """Send the chunks, the last ending the body; a ``stream_cut`` fault stops after
        ``after`` chunks, before the ``is_end`` one at the latest."""
        interval = self.state.config.stream_interval
        count = len(frames)
        stop_at = min(cut.after, count - 1) if cut is not None else None
        await ex.start_stream()
        for index, frame in enumerate(frames):
            if index == stop_at and cut is not None:
                await (ex.drop() if cut.abort else ex.end_stream())
                return
            last = index == count - 1
            await ex.send_event(dumps(frame), last=last)
            if not last and interval > 0:
                await asyncio.sleep(interval)


class _Checked(NamedTuple):
    options: tuple[str, str | None, str | None]
    kept: list[Mapping[str, Any]]
    prompt: int


def _check(data: dict[str, Any], limit: int) -> _Checked | tuple[int, str | None]:
    """The body rules, the input limit and history truncation: what a request costs in CPU
    (run off the loop for a large body, see ``wire.off_loop``). ``(code, message)`` refuses."""
    violation = check_body(data)
    if violation is not None:
        return int(violation.code), violation.message  # v1 codes are ints
    options = _options(data)
    if options is None:
        return INVALID_PARAM, None
    messages: list[Mapping[str, Any]] = data["messages"]
    counts = [message_tokens(m) for m in messages]
    if counts[-1] > limit:
        return INVALID_PARAM, f"the max length of current question is {limit}"
    kept = truncate_history(messages, limit, counts) if sum(counts) > limit else messages
    return _Checked(options, kept, prompt_tokens(kept, data.get("system")))


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
