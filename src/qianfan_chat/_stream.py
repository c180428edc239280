"""Streams of ``QfResponse`` chunks: ``ChatStream`` (sync) and ``AsyncChatStream``.

Both are iterators *and* context managers that always close their HTTP response: at the last
chunk, on an error, on ``close()``, when a ``with`` block is left (``break`` included) and, as
a last resort, when collected. The decoding is shared (:class:`StreamState`, no I/O):

* SSE is decoded tolerantly (``_sse.SSEDecoder``); an error JSON before or inside the stream
  raises its typed error;
* v1 ends at the chunk with ``is_end``; v2 at ``data: [DONE]`` (a v2 stream whose connection
  closes after a ``finish_reason`` but before ``[DONE]`` is complete, merely without usage);
  a stream that ends before that raises :class:`StreamInterruptedError` carrying the text
  received — never a silently short answer;
* usage is the final chunk's only (v1: the ``is_end`` chunk; v2: the ``include_usage`` chunk),
  since intermediate chunks carry zero or running counts.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from json.scanner import make_scanner
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from . import _wire
from ._config import ApiVersion
from ._errors import APIConnectionError, APIError, APITimeoutError, StreamInterruptedError
from ._protocol import wire
from ._protocol.search import results_of, status_of
from ._protocol.sse import SSEDecoder, SSELimitError
from ._response import QfResponse

if TYPE_CHECKING:
    from ._types import Citation, SearchResult

# A chunk's data is a JSON object starting at its first character (the caller checks the
# "{"), so the decoder's C scanner reads it directly: json.loads's wrappers (type checks, the
# BOM and leading-whitespace handling, raw_decode) cost a microsecond per event, a tenth of
# the per-event budget. Whatever it does not take whole (trailing data, bad JSON) goes to
# json.loads, which raises or accepts exactly as before.
_scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # (typeshed: a class)
_loads = json.loads


def _object(data: str) -> Any:
    try:
        value, end = _scan(data, 0)
    except (StopIteration, ValueError):
        return _loads(data)
    if end != len(data) and data[end:].strip():
        return _loads(data)
    return value


# What a chunk reader says of a chunk, for holding back the finish chunk (``merge_usage``).
_PLAIN, _FINISHING, _NO_CHOICES = 0, 1, 2

# The most a stream may send in all (the text it carries is kept), far above any real answer.
MAX_STREAM_BYTES = 256 * 1024 * 1024


class _V1Chunks:
    """v1 stream facts: the chunk with ``is_end`` (or a ``function_call``) is the last one and
    carries the usage; ``result`` pieces make the text."""

    last_event = "is_end"

    @staticmethod
    def is_end_marker(data: str) -> bool:
        return False

    @staticmethod
    def absorb(state: StreamState, body: dict[str, Any]) -> int:
        result = body.get("result")
        if isinstance(result, str) and result:
            state.parts.append(result)
        if body.get("is_end", False) or body.get("function_call"):
            usage = body.get("usage")
            state.usage = usage if isinstance(usage, dict) else None
            state.end()
        return _PLAIN


class _V2Chunks:
    """v2 stream facts: ``data: [DONE]`` ends it; choice 0's ``delta.content`` pieces make the
    text; usage is the last chunk that has one (running counts end in the total). A stream cut
    after a ``finish_reason`` is complete, merely without usage."""

    last_event = wire.V2_STREAM_END

    @staticmethod
    def is_end_marker(data: str) -> bool:
        return data.strip() == wire.V2_STREAM_END

    @staticmethod
    def absorb(state: StreamState, body: dict[str, Any]) -> int:
        """Take in a chunk's text, reasoning, usage and search results; say whether it
        finishes a choice or has no choices (the usage chunk)."""
        # A broken peer's shapes (``choices: [1]``, ``delta: "oops"``) are skipped, not
        # AttributeErrors: only what has the documented shape is read. (``dict``, not
        # ``Mapping``: JSON objects decode to dicts, and the ABC check costs per event.)
        choices = body.get("choices")
        kind = _PLAIN if choices else _NO_CHOICES
        for choice in choices if type(choices) is list else ():
            if type(choice) is not dict:
                continue
            delta = choice.get("delta")
            if type(delta) is not dict:
                delta = {}
            content = delta.get("content")
            if choice.get("index", 0) == 0:
                # Qianfan's additions (protocol-v2-extensions.md sections 2-3): reasoning
                # apart from the answer; a "searching" status chunk is not answer text.
                if "delta_tag" in delta or "delta_tag" in choice or "delta_tag" in body:
                    state.search_status = status_of(body)
                    if state.search_status is not None:
                        content = None
                reasoning = delta.get("reasoning_content")
                if reasoning and type(reasoning) is str:
                    state.reasoning_parts.append(reasoning)
                if content and type(content) is str:
                    state.parts.append(content)
            if choice.get("finish_reason"):
                state.complete = True
                kind = _FINISHING
        usage = body.get("usage")
        if usage and type(usage) is dict:
            state.usage = usage
        if "search_results" in body or "web_search" in body:
            state.search_results = results_of(body) or state.search_results
        return kind


_CHUNKS: dict[ApiVersion, type[_V1Chunks] | type[_V2Chunks]] = {1: _V1Chunks, 2: _V2Chunks}


class StreamState:
    """Pure stream decoding: bytes in, chunks out. What differs by API version is in its
    chunk reader (``_V1Chunks`` / ``_V2Chunks``), chosen once."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        statistic: dict[str, Any],
        version: ApiVersion,
        merge_usage: bool = False,
        deadline: float | None = None,
        event_timeout: float | None = None,
    ):
        self.reader = _CHUNKS[version]
        self.deadline = deadline  # time.monotonic() by which the stream must be over
        self.event_timeout = event_timeout  # longest silence between real events, seconds
        self.last_event = time.monotonic()
        # v2, usage chunk asked for by the client: hold the finish chunk until the usage comes
        # (or the stream ends), give it the usage, and yield no chunk without choices.
        self.merge_usage = merge_usage
        self.held: QfResponse | None = None
        self.pending_release: list[QfResponse] = []
        self.complete = False  # the answer is whole even if the end marker never comes
        self.status = status
        self.headers = headers
        self.statistic = statistic
        self.request_id = _wire.request_id(headers)
        self.decoder = SSEDecoder()
        self.received = 0  # bytes fed, against MAX_STREAM_BYTES
        self.ended = False
        self.parts: list[str] = []
        self.reasoning_parts: list[str] = []  # v2 reasoning_content, apart from the answer
        self.search_results: list[dict[str, Any]] | None = None  # v2 web search
        self.search_status: str | None = None  # the last "searching" status
        self.usage: dict[str, Any] | None = None
        self.started = time.perf_counter()
        self.chunks = 0

    def _chunks(self, events: list[Any]) -> list[QfResponse]:
        # The per-event path: it runs a thousand times a stream, so it reads locals and takes
        # the fast road when it can (see the JSON note below).
        out: list[QfResponse] = []
        reader = self.reader
        status, headers, statistic = self.status, self.headers, self.statistic
        plain = status < 300
        for event in events:
            if self.ended:
                break
            data = event.data
            # A JSON object's data starts with "{": only other data can be the end marker.
            if data[:1] != "{" and reader.is_end_marker(data):
                self.end()
                out.extend(self.release())
                continue
            # A 2xx chunk that parses to an object without "error_code" or "error" is a plain
            # chunk for _wire.error_from, so it is used as parsed; anything else (not JSON, not
            # an object, an error, a non-2xx status) goes through _wire.chunk_body, which
            # raises the typed error.
            try:
                body = _object(data)
            except (ValueError, RecursionError):
                body = None
            if type(body) is not dict or not plain or "error_code" in body or "error" in body:
                body = _wire.chunk_body(event, status, headers)
            if self.request_id is None:
                self.request_id = _wire.request_id(headers, body)
            if self.chunks == 0:
                statistic["first_token_latency"] = time.perf_counter() - self.started
            self.chunks += 1
            kind = reader.absorb(self, body)
            chunk = QfResponse(status, headers, body, statistic, self.request_id)
            if kind and self.merge_usage:
                self._hold(chunk, kind)
                continue
            out.append(chunk)
        return out

    def _hold(self, chunk: QfResponse, kind: int) -> None:
        """Keep back what must not be yielded yet (see ``merge_usage``): the finish chunk,
        and the usage chunk, whose usage goes to the finish chunk."""
        if kind == _NO_CHOICES:
            if self.held is not None and chunk.body.get("usage"):
                self.held.body["usage"] = chunk.body["usage"]
            return
        released = self.held
        self.held = chunk
        if released is not None:  # several choices finishing: all but the last go out as they are
            self.pending_release.append(released)

    def release(self) -> list[QfResponse]:
        """The chunks held back, at the end of the stream."""
        out, self.pending_release = self.pending_release, []
        if self.held is not None:
            out.append(self.held)
            self.held = None
        return out

    def end(self) -> None:
        self.ended = True
        self.statistic["total_latency"] = (
            self.statistic.get("total_latency", 0.0) + time.perf_counter() - self.started
        )

    def feed(self, data: bytes) -> list[QfResponse]:
        self.received += len(data)
        if self.received > MAX_STREAM_BYTES:
            raise self.too_large(f"the stream is longer than {MAX_STREAM_BYTES} bytes")
        try:
            events = self.decoder.feed(data)
        except SSELimitError as exc:
            raise self.too_large(str(exc)) from None
        if self.deadline is not None or self.event_timeout is not None:
            self._check_time(bool(events))
        return self._chunks(events)

    def _check_time(self, heard: bool) -> None:
        """The call's deadline, and the silence allowed between real events (bytes that
        make no event, SSE comments for one, do not count)."""
        now = time.monotonic()
        if heard:
            self.last_event = now
        if self.deadline is not None and now > self.deadline:
            raise APITimeoutError(f"the call's deadline passed after {self.chunks} chunks")
        if self.event_timeout is not None and now - self.last_event > self.event_timeout:
            raise APITimeoutError(
                f"no event for more than event_timeout={self.event_timeout:g} s after "
                f"{self.chunks} chunks"
            )

    def finish(self) -> list[QfResponse]:
        """The stream's bytes are over: flush, and fail if the last event never came."""
        chunks = self._chunks(self.decoder.flush())
        if self.ended:
            return chunks
        if self.complete:
            self.end()
            return chunks + self.release()
        raise self.interrupted(f"the stream ended before its last event ({self.reader.last_event})")

    def too_large(self, why: str) -> APIError:
        """A reply past the client's caps (see ``MAX_STREAM_BYTES`` and ``_protocol.sse``)."""
        return APIError(f"{why}: not a reply Qianfan sends", status_code=self.status)

    def interrupted(self, why: str) -> StreamInterruptedError:
        return StreamInterruptedError(
            f"{why}; {self.chunks} chunks received", received=self.text, request_id=self.request_id
        )

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _transport_error(state: StreamState, exc: httpx.HTTPError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"no data for longer than the timeout after {state.chunks} chunks "
            f"({type(exc).__name__})"
        )
    return state.interrupted(f"the connection failed mid-stream ({type(exc).__name__})")


def body_of(response: httpx.Response) -> Iterator[bytes]:
    """A response's body, decoded. Without a Content-Encoding the decoded bytes are the raw
    ones, so the transport's byte stream is read as it is: httpx's decoder, re-chunker and
    byte counter (three generator layers per chunk, a tenth of a stream's own cost) are
    skipped, unless the body was read already (a transport that answers with a whole
    ``Response``). The caller closes the response, as after ``iter_raw``."""
    if (
        response.headers.get("content-encoding", "identity") == "identity"
        and not response.is_stream_consumed
        and isinstance(response.stream, httpx.SyncByteStream)
    ):
        response.is_stream_consumed = True  # a second read raises, as after iter_raw
        return iter(response.stream)
    return response.iter_bytes()


def abody_of(response: httpx.Response) -> AsyncIterator[bytes]:
    """:func:`body_of` for async responses."""
    if (
        response.headers.get("content-encoding", "identity") == "identity"
        and not response.is_stream_consumed
        and isinstance(response.stream, httpx.AsyncByteStream)
    ):
        response.is_stream_consumed = True
        return aiter(response.stream)
    return response.aiter_bytes()


class _StreamBase:
    """What the sync and async streams share: the response, its decoding state, the chunks
    decoded but not yet taken; each reads the body its own way (``_body``)."""

    _response: Any
    _state: StreamState
    _pending: deque[QfResponse]
    _bytes: Any  # the body's pieces: an iterator (sync) or an async iterator

    def __init__(
        self,
        response: httpx.Response,
        statistic: dict[str, Any],
        version: ApiVersion,
        merge_usage: bool = False,
        deadline: float | None = None,
        event_timeout: float | None = None,
    ) -> None:
        self._response = response
        self._state = StreamState(
            response.status_code,
            response.headers,
            statistic,
            version,
            merge_usage,
            deadline,
            event_timeout,
        )
        self._bytes = self._body(response)
        self._pending = deque()

    def _body(self, response: httpx.Response) -> Any:
        raise NotImplementedError

    @property
    def text(self) -> str:
        """The text received so far (all of it, once the stream is over)."""
        return self._state.text

    @property
    def usage(self) -> dict[str, Any] | None:
        """Token usage from the final chunk, once it has arrived."""
        return self._state.usage

    @property
    def reasoning(self) -> str:
        """v2: the ``reasoning_content`` received so far, apart from the answer (``text``)."""
        return "".join(self._state.reasoning_parts)

    @property
    def search_results(self) -> tuple[SearchResult, ...]:
        """v2 web search: the results the stream carried (top level or ``web_search``)."""
        from ._types import SearchResult

        return tuple(SearchResult.from_dict(r) for r in self._state.search_results or ())

    @property
    def citations(self) -> list[Citation]:
        """The markers in ``text`` so far, each pointing at its search results."""
        from ._types import citations_in

        return citations_in(self.text, self.search_results)

    @property
    def search_status(self) -> str | None:
        """The last status chunk's text (web search's "正在搜索"), never part of ``text``."""
        return self._state.search_status

    @property
    def request_id(self) -> str | None:
        return self._state.request_id

    @property
    def statistic(self) -> dict[str, Any]:
        return self._state.statistic

    @property
    def closed(self) -> bool:
        return bool(self._response.is_closed)


class ChatStream(_StreamBase, Iterator[QfResponse]):
    """A sync stream of chunks. Use it in a ``with`` block, or iterate it to the end."""

    def _body(self, response: httpx.Response) -> Iterator[bytes]:
        return body_of(response)

    def _prime(self) -> ChatStream:
        """Read up to the first chunk so an early error can still be retried."""
        try:
            self._fill()
        except BaseException:
            self.close()
            raise
        return self

    def _fill(self) -> None:
        state = self._state
        while not self._pending and not state.ended:
            try:
                data = next(self._bytes)
            except StopIteration:
                self._pending.extend(state.finish())
                return
            except httpx.HTTPError as exc:
                raise _transport_error(state, exc) from exc
            self._pending.extend(state.feed(data))
        if state.ended:
            self._drain()

    def _drain(self) -> None:
        # The server ends the body right after is_end; reading that end lets the connection
        # go back to the pool instead of being closed.
        try:
            for _ in self._bytes:
                pass
        except httpx.HTTPError:
            pass
        self.close()

    def __next__(self) -> QfResponse:
        if not self._pending:
            try:
                self._fill()
            except BaseException:
                self.close()
                raise
            if not self._pending:
                raise StopIteration
        return self._pending.popleft()

    def __iter__(self) -> ChatStream:
        return self

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None and not response.is_closed:
            response.close()


class AsyncChatStream(_StreamBase, AsyncIterator[QfResponse]):
    """An async stream of chunks. Use it in an ``async with`` block, or iterate to the end."""

    def _body(self, response: httpx.Response) -> AsyncIterator[bytes]:
        return abody_of(response)

    async def _prime(self) -> AsyncChatStream:
        try:
            await self._fill()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def _fill(self) -> None:
        state = self._state
        while not self._pending and not state.ended:
            try:
                data = await self._bytes.__anext__()
            except StopAsyncIteration:
                self._pending.extend(state.finish())
                return
            except httpx.HTTPError as exc:
                raise _transport_error(state, exc) from exc
            self._pending.extend(state.feed(data))
        if state.ended:
            try:
                async for _ in self._bytes:
                    pass
            except httpx.HTTPError:
                pass
            await self.aclose()

    async def __anext__(self) -> QfResponse:
        if not self._pending:
            try:
                await self._fill()
            except BaseException:
                await self.aclose()
                raise
            if not self._pending:
                raise StopAsyncIteration
        return self._pending.popleft()

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def aclose(self) -> None:
        await self._response.aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def is_truncated_chunk(body: Mapping[str, Any]) -> bool:
    """A stream's last chunk says the reply was cut at the output limit (v1 ``is_truncated``,
    v2 the first choice's ``finish_reason: "length"``)."""
    choices = body.get("choices")
    if isinstance(choices, list):
        return (
            bool(choices)
            and isinstance(choices[0], dict)
            and (choices[0].get("finish_reason") == "length")
        )
    return body.get("is_truncated") is True


class _Continued:
    """What the sync and async continued streams share: every property is the current
    stream's, but ``text``, which joins them all; and when to open the next one."""

    _current: Any
    _before: list[str]
    _last: QfResponse | None
    _left: int

    @property
    def _response(self) -> Any:
        return self._current._response

    @property
    def _state(self) -> StreamState:
        return self._current._state  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        current: str = self._current.text
        return "".join(self._before) + current

    def _next_piece(self) -> str | None:
        """The current stream is over: its text if the reply goes on (it ended truncated,
        and continuations are left), else None."""
        last = self._last
        if self._left <= 0 or last is None or not is_truncated_chunk(last.body):
            return None
        self._left -= 1
        piece: str = self._current.text
        self._before.append(piece)
        self._last = None
        return piece


class ContinuedChatStream(_Continued, ChatStream):  # type: ignore[misc,override]
    """``auto_concat_truncate`` on a stream (Baidu's SDK): while a stream's reply ends
    truncated, ``follow(text)`` opens the next one (the conversation goes on with that text
    and the continue prompt) and its chunks follow, at most ``limit`` times."""

    def __init__(self, first: ChatStream, follow: Callable[[str], ChatStream], limit: int):
        self._current = first
        self._follow = follow
        self._left = limit
        self._before = []
        self._last = None

    def __next__(self) -> QfResponse:
        while True:
            try:
                self._last = next(self._current)
                return self._last
            except StopIteration:
                piece = self._next_piece()
                if piece is None:
                    raise
                self._current = self._follow(piece)

    def close(self) -> None:
        self._current.close()


class ContinuedAsyncChatStream(_Continued, AsyncChatStream):  # type: ignore[misc,override]
    """The async :class:`ContinuedChatStream`."""

    def __init__(
        self,
        first: AsyncChatStream,
        follow: Callable[[str], Awaitable[AsyncChatStream]],
        limit: int,
    ):
        self._current = first
        self._follow = follow
        self._left = limit
        self._before = []
        self._last = None

    async def __anext__(self) -> QfResponse:
        while True:
            try:
                self._last = await self._current.__anext__()
                return self._last
            except StopAsyncIteration:
                piece = self._next_piece()
                if piece is None:
                    raise
                self._current = await self._follow(piece)

    async def aclose(self) -> None:
        await self._current.aclose()
