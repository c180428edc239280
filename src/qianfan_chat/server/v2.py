"""The v2 (OpenAI-compatible) chat route, ``POST {v2_prefix}/chat/completions``
(``shared/docs/protocol-v2.md``). One raw ASGI app serves every path under the v2 prefix.

Order of checks: route (other paths under the prefix: 404), method (405
``method_not_supported``), body size (413 ``characters_too_long``), faults, the bearer key
(401 ``invalid_iam_token``; a v1 access token sent as Bearer is refused too), the ``appid``
header (401 ``invalid_appid``), JSON (400 ``malformed_json``: also NaN, Infinity, a number out
of range, nesting past the stack), a value JSON cannot carry back (a lone surrogate, deep
nesting: 400 ``invalid_argument``), the body rules
(``_rules_v2.check_body``: 400 with its code), the model (401 ``invalid_model``, Baidu's "does
not exist" text), the model's ``max_tokens`` range (400 ``invalid_argument``), the input's
tokens against the model's context (400 ``tokens_too_long``), rate limits (429
``rpm_rate_limit_exceeded`` / ``tpm_rate_limit_exceeded`` / ``user_rate_limit_exceeded`` for
QPS), then the scripted engine. Errors are ``{"error": {"code", "message", "type"}, "id"}``
with their real HTTP status, a stream's too when found before it starts.

Issue 11 (all TEST DATA): image and video parts are checked before the body rules, which then
read text only (:mod:`.v2_media`); once the model is known, :mod:`.v2_extras` refuses images
for a text-only model, bad ``web_search`` options and ``logprobs`` on a thinking request (400
``invalid_argument``), and decodes the images; a reasoning model answers with
``reasoning_content`` when ``_protocol.thinking.thinking_on`` says so (always-on models, hybrid
ones with a switch on); web search adds scripted results, markers and the status chunk
(:mod:`.v2_search`). ``GET {v2}/models`` is :mod:`.models_route`'s.

The engine is the v1 route's (protocol-neutral): system and developer messages are context, the
last message (whatever its role) is what rules match, a ``tool`` message is answered from its
content (its function name found through ``tool_call_id``), ``tool_choice`` binds the rules
(``none``: no scripted calls; ``required`` / a named function: a call), ``response_format``
``json_object`` / ``json_schema`` shape the default text. ``parallel_tool_calls: false`` keeps
the first scripted call only; ``max_tokens`` cuts the text (``finish_reason: "length"``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._protocol import wire
from .._protocol.codes import V2_ERRORS
from .._protocol.content import content_text
from .._protocol.models_v2 import MIN_OUTPUT_TOKENS
from .._protocol.rules_v2 import check_body, check_output_tokens
from .._protocol.thinking import thinking_on
from .._protocol.tokens import estimate_tokens, prompt_tokens
from .auth import V1_TOKEN_RE, bearer_key
from .batches import handle_batch_api
from .codemap import Code, to_v2, v2_error
from .engine import EngineReply, EngineRequest, abbreviate, truncate_reply
from .faults import Fault
from .models_route import handle_models
from .routing import RouteApp
from .state import V2Target
from .v2_extras import NO_EXTRAS, Extras, read_extras
from .v2_format import Answer, Call, chunks, completion, content_pieces, error_body, finish_reason
from .v2_media import MediaError, media_parts, text_view
from .wire import OFFLOAD_BYTES, Exchange, call_id, decode_body, dumps, off_loop, reply_id

REQUEST_ID_HEADER = wire.V2_REQUEST_ID_HEADER_SENT.encode()
_STREAM_END = wire.V2_STREAM_END.encode()
_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
_APPID = wire.APPID_HEADER.encode()
_NOT_FOUND = ("not_found", "invalid_request_error")  # No documented v2 code: OpenAI's reading.


async def send_error(
    ex: Exchange,
    code: str,
    message: str | None = None,
    *,
    status: int | None = None,
    kind: str | None = None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A v2 error body with its real status (from ``V2_ERRORS`` unless given)."""
    row = V2_ERRORS.get(code)
    table_status, table_kind, table_message = (
        (row.status, row.type, row.message) if row else (500, "internal_error", "")
    )
    await ex.send_json(
        error_body(code, message or table_message, kind or table_kind, reply_id()),
        status=status or table_status,
        error_code=code,
        extra_headers=extra_headers,
    )


async def send_mapped(ex: Exchange, code: Code, message: str | None = None) -> None:
    """A v1 or v2 code (a rule's, the limiter's) answered in v2's shape (see codemap)."""
    status, name, kind, text = v2_error(code, message)
    await send_error(ex, name, text, status=status, kind=kind)


def engine_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages as the engine reads them: ``role``, text ``content``, and for a ``tool``
    message the ``name`` of the function its ``tool_call_id`` answers."""
    names: dict[Any, str] = {}
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg.get("role")
        entry: dict[str, Any] = {"role": role, "content": content_text(msg.get("content")) or ""}
        for call in msg.get("tool_calls") or ():
            names[call.get("id")] = call["function"]["name"]
        if role == "tool":
            entry["name"] = msg.get("name") or names.get(msg.get("tool_call_id")) or "函数"
        out.append(entry)
    return out


def reasoning_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The short, deterministic ``reasoning_content`` of a reasoning model (TEST DATA)."""
    last = messages[-1] if messages else {}
    topic = abbreviate(str(last.get("content") or ""), 40)
    return f"用户的最后一条消息是「{topic}」，按本地测试服务器的脚本作答。"


def cut_to_tokens(text: str, limit: int) -> int:
    """The longest prefix length of ``text`` whose token estimate is at most ``limit``."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def _options(data: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's view of tools, tool_choice, response_format and stop (body checked)."""
    tools = data.get("tools") or ()
    choice = data.get("tool_choice")
    fmt = data.get("response_format")
    fmt_type = fmt.get("type") if isinstance(fmt, Mapping) else None
    schema: Any = None
    if fmt_type == "json_schema":
        schema = fmt["json_schema"].get("schema") if isinstance(fmt, Mapping) else None
        schema = schema if isinstance(schema, Mapping) else {}
    stop = data.get("stop") or ()
    return {
        "functions": [t["function"] for t in tools],
        "tool_choice": choice if isinstance(choice, str) else "auto",
        "forced_function": choice["function"]["name"] if isinstance(choice, Mapping) else None,
        "response_format": fmt_type,
        "response_schema": schema,
        "stop": [stop] if isinstance(stop, str) else list(stop),
    }


def _measure(messages: Sequence[Mapping[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The prompt's tokens and the engine's view of the messages: the per-request CPU that
    grows with the body (run off the loop for a large one, see ``wire.off_loop``)."""
    return prompt_tokens(messages), engine_messages(messages)


class V2App(RouteApp):
    """ASGI app for the paths under the v2 prefix."""

    request_id_header = REQUEST_ID_HEADER

    async def handle(self, ex: Exchange) -> None:
        scope = ex.scope
        if scope["path"] == self.state.v2_chat_path:
            await self.chat(ex)
            return
        if await handle_batch_api(self, ex):  # files + batches (batches.py, files.py)
            return
        if await handle_models(self, ex):  # GET {v2}/models (models_route.py)
            return
        code, kind = _NOT_FOUND
        message = f"Unsupported path: {scope['method']} {scope['path']}"
        await send_error(ex, code, message, status=404, kind=kind)

    async def internal_error(self, ex: Exchange) -> None:
        await send_error(ex, "internal_error")

    async def fault_error(
        self, ex: Exchange, fault: Fault, extra_headers: list[tuple[bytes, bytes]]
    ) -> None:
        status, code, kind, message = fault.v2_error()
        await send_error(ex, code, message, status=status, kind=kind, extra_headers=extra_headers)

    def expire(self, credential: str) -> None:
        self.state.api_keys.expire(credential)

    async def authorize(self, ex: Exchange, key: str) -> bool:
        """Check the Bearer ``key`` of ``ex``, for every v2 route: True when it may call (the
        key is then logged, as the credential it is: masked), else its 401 is sent."""
        refused = self._auth_error(ex, key)
        if refused is not None:
            await send_error(ex, refused)
            return False
        ex.entry.key = key
        ex.entry.key_secret = True  # a bearer key is a credential
        return True

    def _auth_error(self, ex: Exchange, key: str) -> str | None:
        """The 401 code refusing this caller, or None."""
        state = self.state
        if not key:
            return "invalid_iam_token"
        status = state.api_keys.check(key)
        if status == "expired":
            return "invalid_iam_token"
        if status == "unknown" and (
            not state.api_keys.open_mode
            # protocol-v2.md: a v1 access token sent as Bearer is refused, open mode or not.
            or state.tokens.known(key)
            or V1_TOKEN_RE.fullmatch(key)
        ):
            return "invalid_iam_token"
        appid = ex.header(_APPID)
        if appid is not None and state.app_ids and appid.strip() not in state.app_ids:
            return "invalid_appid"
        return None

    async def chat(self, ex: Exchange) -> None:
        state = self.state
        config = state.config
        if ex.method != "POST":
            await send_error(ex, "method_not_supported")
            return
        raw = await ex.read_body(config.max_body_bytes, config.body_timeout)
        if raw is None:
            message = f"request body too large (over {config.max_body_bytes} bytes)"
            await send_error(ex, "characters_too_long", message, status=413)
            return
        size = len(raw)
        data, unsafe = await off_loop(size, decode_body, raw, size > OFFLOAD_BYTES)
        is_dict = isinstance(data, dict)
        stream = is_dict and data.get("stream") is True
        model = data.get("model") if is_dict else None
        target = state.v2_targets.get(model) if isinstance(model, str) else None
        key = bearer_key(ex.header(_AUTHORIZATION))
        cut: Fault | None = None
        plan = state.faults.pick(
            route="v2",
            path=ex.path,
            model_keys=target.keys if target else frozenset(),
            stream=stream,
            has_token=state.api_keys.is_minted(key),
        )
        if plan is not None:
            answered, fault = await self.apply_plan(ex, plan, key)
            if answered:
                return
            if fault is not None and fault.kind == "stream_cut":
                cut = fault
        if not await self.authorize(ex, key):
            return
        if not is_dict:
            await send_error(ex, "malformed_json")
            return
        if unsafe is not None:
            field, rule = unsafe
            await send_error(ex, "invalid_argument", f"Invalid argument: {field} {rule}")
            return
        # Images and videos (v2_media.py): the parts' shape and size, then the rules on text.
        parts = media_parts(data.get("messages"))
        if isinstance(parts, MediaError):
            await send_error(ex, parts.code, parts.message)
            return
        checked = text_view(data, for_rules=True) if parts else data
        violation = await off_loop(size, check_body, checked)
        if violation is not None:
            await send_error(ex, str(violation.code), violation.message)
            return
        if target is None:
            await send_mapped(ex, "invalid_model")  # 401, "does not exist" (protocol-v2.md)
            return
        violation = check_output_tokens(data, MIN_OUTPUT_TOKENS, target.max_output_tokens)
        if violation is not None:
            await send_error(ex, str(violation.code), violation.message)
            return
        extras = await off_loop(size, read_extras, data, target.name, parts)  # v2_extras.py
        if isinstance(extras, MediaError):
            await send_error(ex, extras.code, extras.message)
            return
        messages = text_view(data, for_rules=False)["messages"] if parts else data["messages"]
        prompt, kept = await off_loop(size, _measure, messages)
        await self._answer(ex, data, target, key, stream, cut, prompt, kept, extras)

    async def _answer(
        self,
        ex: Exchange,
        data: dict[str, Any],
        target: V2Target,
        key: str,
        stream: bool,
        cut: Fault | None,
        prompt: int,
        kept: list[dict[str, Any]],
        extras: Extras = NO_EXTRAS,
    ) -> None:
        state = self.state
        config = state.config
        if prompt > target.max_input_tokens:
            message = f"the input tokens ({prompt}) exceed {target.max_input_tokens}"
            await send_error(ex, "tokens_too_long", message)
            return
        limited = state.limiter.admit(key, prompt)
        if limited is not None:
            await send_mapped(ex, to_v2(limited))
            return
        options = _options(data)
        reply = state.engine.reply(
            EngineRequest(
                model=target.name,
                messages=kept,
                strict_tool_choice=True,
                **options,
            )
        )
        if reply.error_code is not None:
            await send_mapped(ex, reply.error_code, reply.error_msg)
            return
        answer = self._build(extras.apply(reply), data, target, kept)
        state.limiter.add_tokens(key, answer.completion_tokens)
        head = {"id": reply_id(), "created": int(time.time()), "model": target.name}
        if not stream:
            await ex.send_json(extras.completion(completion(head, answer, prompt)))
            return
        stream_options = data.get("stream_options") or {}
        frames = chunks(
            head,
            answer,
            prompt,
            chunk_chars=config.stream_chunk_chars,
            include_usage=stream_options.get("include_usage") is True,
            running_usage=stream_options.get("chunk_include_usage") is True,
        )
        await self._stream(ex, extras.chunks(frames), cut)

    def _build(
        self,
        reply: EngineReply,
        data: Mapping[str, Any],
        target: V2Target,
        messages: Sequence[Mapping[str, Any]],
    ) -> Answer:
        calls = reply.calls
        if calls and data.get("parallel_tool_calls") is False:
            calls = calls[:1]
        limit = data.get("max_completion_tokens") or data.get("max_tokens")
        if not calls and isinstance(limit, int) and estimate_tokens(reply.text) > limit:
            reply = truncate_reply(reply, cut_to_tokens(reply.text, limit), "length")
        chunk_chars = self.state.config.stream_chunk_chars
        return Answer(
            text=reply.text,
            pieces=content_pieces(reply.text, reply.chunks, chunk_chars),
            reasoning=reasoning_text(messages) if thinking_on(target.name, data) else "",
            calls=tuple(Call(call_id(), c.name, c.arguments) for c in calls),
            finish=finish_reason(reply.finish_reason, reply.custom_finish_reason),
            flag=2 if reply.need_clear_history else 0,
            ban_round=reply.ban_round if reply.ban_round is not None else -1,
        )

    async def _stream(self, ex: Exchange, frames: list[dict[str, Any]], cut: Fault | None) -> None:
        """Send the chunks and ``[DONE]``; a ``stream_cut`` fault stops after ``after`` chunks,
        before ``[DONE]`` at the latest."""
        interval = self.state.config.stream_interval
        stop_at = min(cut.after, len(frames)) if cut is not None else None
        await ex.start_stream()
        for index, frame in enumerate(frames):
            if index == stop_at:
                break
            await ex.send_event(dumps(frame))
            if interval > 0:
                await asyncio.sleep(interval)
        if cut is not None:
            await (ex.drop() if cut.abort else ex.end_stream())
            return
        await ex.send_event(_STREAM_END, last=True)
