"""The SSE decoder against the WHATWG event-stream rules and Qianfan's non-SSE error replies.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import random

import pytest

from qianfan_chat._protocol.sse import ServerSentEvent as E
from qianfan_chat._protocol.sse import SSEDecoder

ERROR = '{"error_code":110,"error_msg":"Access token invalid or no longer valid"}'


def decode_whole(payload: bytes) -> list[E]:
    decoder = SSEDecoder()
    return decoder.feed(payload) + decoder.flush()


def decode_chunks(chunks: list[bytes]) -> list[E]:
    decoder = SSEDecoder()
    events: list[E] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.flush()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b"data: hi\n\n", [E(data="hi")], id="data-with-space"),
        pytest.param(b"data:hi\n\n", [E(data="hi")], id="data-without-space"),
        pytest.param(b"data:  hi\n\n", [E(data=" hi")], id="only-one-space-removed"),
        pytest.param(b"data: a:b\n\n", [E(data="a:b")], id="colon-in-value"),
        pytest.param(b"data: a\ndata: b\ndata\n\n", [E(data="a\nb\n")], id="data-lines-joined"),
        pytest.param(b"data:\n\n", [E(data="")], id="empty-data-still-dispatched"),
        pytest.param(b"event: x\nid: 1\n\n", [], id="no-data-no-event"),
        pytest.param(b"\n\n\n", [], id="blank-lines-only"),
        pytest.param(b"", [], id="empty-body"),
        pytest.param(b": keep-alive\n:\ndata: x\n\n", [E(data="x")], id="comments-ignored"),
        pytest.param(b"foo: bar\ndata: x\n\n", [E(data="x")], id="unknown-field-ignored"),
        pytest.param(b"event: ping\ndata: x\n\n", [E("ping", "x")], id="event-field"),
        pytest.param(
            b"event: a\ndata: 1\n\ndata: 2\n\n", [E("a", "1"), E(data="2")], id="event-resets"
        ),
        pytest.param(b"event: a\n\ndata: 2\n\n", [E(data="2")], id="event-reset-by-empty-block"),
        pytest.param(b"event:\ndata: x\n\n", [E(data="x")], id="empty-event-is-message"),
        pytest.param(
            b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
            [E(data="a", id="7"), E(data="b", id="7"), E(data="c", id="")],
            id="id-persists-until-reset",
        ),
        pytest.param(b"id: a\0b\ndata: x\n\n", [E(data="x")], id="id-with-nul-ignored"),
        pytest.param(
            b"retry: 3000\ndata: a\n\ndata: b\n\n",
            [E(data="a", retry=3000), E(data="b")],
            id="retry-on-its-event",
        ),
        pytest.param(
            b"retry: 1e3\nretry: -1\nretry:  5\ndata: x\n\n", [E(data="x")], id="bad-retry"
        ),
        pytest.param(b"data: a\r\n\r\ndata: b\r\n\r\n", [E(data="a"), E(data="b")], id="crlf"),
        pytest.param(b"data: a\r\rdata: b\r\r", [E(data="a"), E(data="b")], id="cr"),
        pytest.param(b"data: a\r\n\rdata: b\n\r\n", [E(data="a"), E(data="b")], id="mixed"),
        pytest.param(b"\xef\xbb\xbfdata: x\n\n", [E(data="x")], id="bom-stripped"),
        pytest.param(b"data: \xe4\xbd\xa0\xff\n\n", [E(data="你\ufffd")], id="bad-utf8-replaced"),
        pytest.param(
            "data: x\x0by\x1cz\x85\u2028\n\n".encode(),
            [E(data="x\x0by\x1cz\x85\u2028")],
            id="splitlines-breaks-are-not-line-ends",
        ),
        pytest.param(b"data: a\n", [E(data="a")], id="flush-without-blank-line"),
        pytest.param(b"data: a\ndata: b", [E(data="a\nb")], id="flush-unterminated-line"),
        pytest.param(b"data: a\r", [E(data="a")], id="flush-after-cr"),
        pytest.param(ERROR.encode(), [E("raw", ERROR)], id="json-body-no-newline"),
        pytest.param(ERROR.encode() + b"\n", [E("raw", ERROR)], id="json-body-with-newline"),
        pytest.param(b"  " + ERROR.encode(), [E("raw", "  " + ERROR)], id="json-indented"),
        pytest.param(
            b"data: a\n\n" + ERROR.encode() + b"\r\n",
            [E(data="a"), E("raw", ERROR)],
            id="json-line-inside-stream",
        ),
        pytest.param(
            b"data: a\n" + ERROR.encode() + b"\ndata: b\n\n",
            [E("raw", ERROR), E(data="a\nb")],
            id="json-line-does-not-wait-for-blank-line",
        ),
    ],
)
def test_decode(payload: bytes, expected: list[E]) -> None:
    assert decode_whole(payload) == expected


def test_raw_json_line_is_emitted_immediately() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(ERROR.encode() + b"\n") == [E("raw", ERROR)]
    assert decoder.flush() == [E(data="a")]


@pytest.mark.parametrize("terminator", [pytest.param(b"\n", id="lf"), pytest.param(b"\r", id="cr")])
def test_event_dispatched_as_soon_as_blank_line_arrives(terminator: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a" + terminator) == []
    assert decoder.feed(terminator) == [E(data="a")]
    assert decoder.feed(b"\n") == []  # completes a CRLF after "\r": no second blank line
    assert decoder.flush() == []


def test_decoder_is_reusable_after_flush_and_keeps_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\ndata: a\n\ndata: b") == [E(data="a", id="5")]
    assert decoder.flush() == [E(data="b", id="5")]
    assert decoder.last_event_id == "5"
    assert decoder.feed(b"\xef\xbb\xbfdata: c\n\n") == [E(data="c", id="5")]


# One payload exercising every rule at once, with multi-byte characters and a BOM so that some
# split points fall inside a UTF-8 sequence, a BOM, or a CRLF.
PAYLOAD = (
    "\ufeffretry: 100\r\n"
    ": comment\nevent: greeting\nid: 1\ndata: 你好\r\ndata:世界\n\n"
    'data: {"result": "🙂 é"}\r\r'
    f"{ERROR}\r\n"
    "event: done\rdata\r\n\r\n"
    "foo: ignored\n: 百度\ndata: trailing without blank line"
).encode()
EXPECTED = [
    E("greeting", "你好\n世界", "1", 100),
    E(data='{"result": "🙂 é"}', id="1"),
    E("raw", ERROR),
    E("done", "", "1"),
    E(data="trailing without blank line", id="1"),
]


def test_payload_whole() -> None:
    assert decode_whole(PAYLOAD) == EXPECTED


@pytest.mark.parametrize("offset", range(len(PAYLOAD) + 1))
def test_payload_split_at_every_offset(offset: int) -> None:
    assert decode_chunks([PAYLOAD[:offset], PAYLOAD[offset:]]) == EXPECTED


def test_payload_byte_by_byte() -> None:
    assert decode_chunks([PAYLOAD[i : i + 1] for i in range(len(PAYLOAD))]) == EXPECTED


@pytest.mark.parametrize("seed", range(20))
def test_payload_random_splits(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(PAYLOAD)), rng.randint(2, 12)))
    chunks = [PAYLOAD[a:b] for a, b in zip([0, *cuts], [*cuts, len(PAYLOAD)], strict=True)]
    assert decode_chunks(chunks) == EXPECTED
