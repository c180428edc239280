"""A tolerant, incremental Server-Sent Events decoder: bytes in, events out, no I/O.

It follows the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation), in
the same shape as httpx-sse's ``_decoders.py``, and works across arbitrary chunk boundaries: a
chunk may end inside a multi-byte UTF-8 character or between the ``\\r`` and ``\\n`` of a CRLF.

Deliberate departures, because Qianfan does not always speak SSE:

* A line that is a bare JSON object (it starts with ``{`` once stripped) is an error reply sent in
  place of SSE, e.g. ``{"error_code":110,"error_msg":"..."}``. It is emitted at once as an event
  with ``event="raw"`` and the line as ``data``, without waiting for a blank line.
* At end of stream, :meth:`SSEDecoder.flush` treats an unterminated last line as a line and
  dispatches a pending event that has data (the spec discards both). Servers that close without a
  final blank line, or send a JSON error body with no newline at all, are thereby still heard.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

_JSON_LEAD_WHITESPACE = " \t\f\v"
# Bounds on what the decoder buffers, far above anything Qianfan sends (its events are a few
# KB): without them a peer that never sends a newline grows one line without end (a 400 MB line
# took 397 MB of memory).
MAX_LINE_CHARS = 16 * 1024 * 1024
MAX_EVENT_CHARS = 32 * 1024 * 1024


class SSELimitError(ValueError):
    """A line or an event is longer than the decoder's bound."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. ``id`` is the last event ID seen so far (None if never set), as the
    spec carries it over to later events; ``retry`` is set only on the event whose block had it."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


# Making an event without the frozen dataclass's __init__ (object.__setattr__ per field):
# half the cost, and events are made once per chunk of every stream.
_new_object = object.__new__
_SET_FIELDS = tuple(
    ServerSentEvent.__dict__[name].__set__ for name in ("event", "data", "id", "retry")
)


def _event(event: str, data: str, id: str | None, retry: int | None) -> ServerSentEvent:
    made = _new_object(ServerSentEvent)
    set_event, set_data, set_id, set_retry = _SET_FIELDS
    set_event(made, event)
    set_data(made, data)
    set_id(made, id)
    set_retry(made, retry)
    return made


class SSEDecoder:
    """Feed raw response bytes with :meth:`feed`; call :meth:`flush` once the body has ended."""

    __slots__ = (
        "_data",
        "_data_chars",
        "_decoder",
        "_direct",
        "_event",
        "_last_id",
        "_parts",
        "_parts_chars",
        "_retry",
        "_skip_lf",
        "max_event_chars",
        "max_line_chars",
    )

    def __init__(
        self, max_line_chars: int = MAX_LINE_CHARS, max_event_chars: int = MAX_EVENT_CHARS
    ) -> None:
        """``max_line_chars`` / ``max_event_chars``: the longest line / event data buffered;
        :class:`SSELimitError` past either."""
        self.max_line_chars = max_line_chars
        self.max_event_chars = max_event_chars
        self._last_id: str | None = None
        self._reset_stream()

    def _reset_stream(self) -> None:
        # utf-8-sig drops one leading BOM, as the spec asks, even if it is split across chunks.
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        # Once the BOM is behind and the decoder holds no partial character, a chunk that is
        # valid UTF-8 by itself is decoded directly (the common case, and much cheaper); one
        # that is not (a character split across chunks, a bad byte) goes through the decoder.
        self._direct = False
        self._parts: list[str] = []  # the current, still unterminated line, in pieces
        self._parts_chars = 0
        self._data_chars = 0
        self._skip_lf = False  # the previous text ended in "\r": a leading "\n" completes a CRLF
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The spec's "last event ID buffer": what a reconnect sends as ``Last-Event-ID``."""
        return self._last_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk`` and return every event completed by it, in order."""
        if self._direct:
            try:
                text = chunk.decode()
            except UnicodeDecodeError:
                text = self._decode(chunk)
        else:
            text = self._decode(chunk)
        if not text:
            return []
        # The common chunk, one whole event of one data line ("data: {...}\n\n", as Qianfan
        # sends each): dispatched directly, exactly as the general path below would.
        if (
            text[-2:] == "\n\n"
            and text[:5] == "data:"
            and text.find("\n") == len(text) - 2
            and not self._parts
            and not self._data
            and not self._skip_lf
            and "\r" not in text
        ):
            value = text[6:-2] if text[5:6] == " " else text[5:-2]
            if len(value) + 1 > self.max_event_chars:
                raise SSELimitError(f"an event is longer than {self.max_event_chars} chars")
            event = _event(self._event or "message", value, self._last_id, self._retry)
            self._event = ""
            self._retry = None
            return [event]
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            # A lone "\r" ends a line by itself; remember it so a "\n" in the next chunk is
            # not read as a second, empty line (which would dispatch an event too early).
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._buffer(text)
            return []
        lines = text.split("\n")
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = "".join(self._parts)
            self._parts = []
            self._parts_chars = 0
        tail = lines.pop()
        if tail:
            self._buffer(tail)
        out: list[ServerSentEvent] = []
        self._process(lines, out)
        return out

    def _decode(self, chunk: bytes) -> str:
        text: str = self._decoder.decode(chunk)
        self._direct = self._decoder.getstate() == (b"", 0)  # nothing pending, BOM settled
        return text

    def _buffer(self, text: str) -> None:
        self._parts_chars += len(text)
        if self._parts_chars > self.max_line_chars:
            raise SSELimitError(f"an event-stream line is longer than {self.max_line_chars} chars")
        self._parts.append(text)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: process what is buffered, dispatch a pending event, reset for reuse.

        The last event ID survives the reset, since a reconnecting client resumes from it.
        """
        out: list[ServerSentEvent] = []
        rest = self._decoder.decode(b"", final=True)
        if self._skip_lf and rest[:1] == "\n":
            rest = rest[1:]
        if rest:
            self._parts.append(rest.replace("\r\n", "\n").replace("\r", "\n"))
        if self._parts:
            self._process("".join(self._parts).split("\n"), out)
        self._process([""], out)
        self._reset_stream()
        return out

    def _process(self, lines: list[str], out: list[ServerSentEvent]) -> None:
        """Apply the spec's per-line steps; append dispatched events to ``out``."""
        data = self._data
        for line in lines:
            if line[:5] == "data:":  # The most common line first (the general case below).
                value = line[6:] if line[5:6] == " " else line[5:]
                self._data_chars += len(value) + 1
                if self._data_chars > self.max_event_chars:
                    raise SSELimitError(f"an event is longer than {self.max_event_chars} chars")
                data.append(value)
                continue
            if not line:  # Blank line: dispatch, but only if some data line was seen.
                if data:
                    out.append(
                        _event(
                            self._event or "message",
                            data[0] if len(data) == 1 else "\n".join(data),
                            self._last_id,
                            self._retry,
                        )
                    )
                    data = self._data = []
                    self._data_chars = 0
                self._event = ""
                self._retry = None
                continue
            first = line[0]
            if first == ":":  # Comment (servers send these as keep-alives).
                continue
            if first == "{" or (
                first in _JSON_LEAD_WHITESPACE and line.lstrip(_JSON_LEAD_WHITESPACE)[:1] == "{"
            ):
                out.append(ServerSentEvent("raw", line))
                continue
            name, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data_chars += len(value) + 1
                if self._data_chars > self.max_event_chars:
                    raise SSELimitError(f"an event is longer than {self.max_event_chars} chars")
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:  # Spec: an id containing NUL is ignored.
                    self._last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self._retry = int(value)
            # Any other field name is ignored, as the spec says.
