"""Batch inference's typed objects: what the files + batches API answers (:class:`FileObject`,
:class:`Batch` with its :class:`RequestCounts`, :class:`BatchResult`) and :class:`BatchInput`,
the request-line builder that checks the documented limits before anything is sent. Pure, no
I/O; the APIs that send are :mod:`._batches`. Facts: ``_protocol/batches.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _v2
from ._errors import InvalidRequestError
from ._protocol import batches as facts
from ._protocol import wire
from ._protocol.batches import BatchStatus
from ._protocol.models_v2 import DEFAULT_V2_MODEL


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and value != "" else None


@dataclass(frozen=True)
class FileObject:
    """An uploaded file (``{"id": "file-...", "object": "file", "bytes", "created_at",
    "filename", "purpose"}``); ``raw`` keeps every field the server sent."""

    id: str
    bytes: int | None
    created_at: int | None
    filename: str | None
    purpose: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileObject:
        return cls(
            str(data.get("id") or data.get("file_id") or ""),
            _int(data.get("bytes")),
            _int(data.get("created_at")),
            _str(data.get("filename")),
            _str(data.get("purpose")),
            dict(data),
        )


@dataclass(frozen=True)
class RequestCounts:
    """How many of a batch's lines there are, have succeeded and have failed."""

    total: int = 0
    completed: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        """Lines answered so far, either way."""
        return self.completed + self.failed

    @classmethod
    def from_dict(cls, data: Any) -> RequestCounts:
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            _int(data.get("total")) or 0,
            _int(data.get("completed")) or _int(data.get("succeeded")) or 0,
            _int(data.get("failed")) or 0,
        )


@dataclass(frozen=True)
class Batch:
    """A batch job. ``status`` is a :class:`BatchStatus` (Qianfan's ``Running``, ``Stopping``,
    ``Done``, ``Stopped``, ``Failed``, ``Expired``; OpenAI's names are read as these), or the
    server's text when it names an unknown one; ``raw`` keeps every field."""

    id: str
    status: BatchStatus | str
    endpoint: str | None
    model: str | None
    input_file_id: str | None
    output_file_id: str | None
    error_file_id: str | None
    completion_window: str | None
    request_counts: RequestCounts
    errors: Any
    metadata: dict[str, str] | None
    created_at: int | None
    completed_at: int | None
    expires_at: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_finished(self) -> bool:
        """True once the batch will not change again: Done, Stopped, Failed or Expired."""
        return isinstance(self.status, BatchStatus) and self.status.is_finished

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Batch:
        raw_status = data.get("status")
        status: BatchStatus | str = BatchStatus.parse(raw_status) or str(raw_status or "")
        metadata = data.get("metadata")
        return cls(
            id=str(data.get("id") or data.get("batch_id") or ""),
            status=status,
            endpoint=_str(data.get("endpoint")),
            model=_str(data.get("model")),
            input_file_id=_str(data.get("input_file_id")),
            output_file_id=_str(data.get("output_file_id")),
            error_file_id=_str(data.get("error_file_id")),
            completion_window=_str(data.get("completion_window")),
            request_counts=RequestCounts.from_dict(data.get("request_counts")),
            errors=data.get("errors"),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else None,
            created_at=_int(data.get("created_at")),
            completed_at=_int(data.get("completed_at")),
            expires_at=_int(data.get("expires_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class BatchResult:
    """One request's outcome, joined to its input line by ``custom_id``. ``body`` is the chat
    reply (OpenAI-shaped) when ``ok``; ``error`` is ``{"code", "message"}`` otherwise."""

    custom_id: str
    status_code: int | None
    request_id: str | None
    body: Any
    error: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.error is None and isinstance(self.body, Mapping)

    @property
    def text(self) -> str | None:
        """The answer's text (``choices[0].message.content``), or None."""
        try:
            return str(self.body["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            return None


MISSING_RESULT = {"code": "no_result", "message": "the batch returned no result for this line"}


class BatchInput:
    """Request lines for a batch, checked as they are added: a valid v2 chat body (the same
    rules as ``do``), a unique ``custom_id``, one model for the whole file, at most 5,000
    lines and 1 GB (:data:`~._protocol.batches.MAX_LINES`, ``MAX_FILE_BYTES``).

    Example::

        requests = BatchInput(model="ernie-4.5-turbo-128k")
        requests.add([{"role": "user", "content": "你好"}], temperature=0.2)   # "request-1"
        requests.add_line({"custom_id": "x", "method": "POST",
                           "url": "/v2/chat/completions", "body": {...}})
        content = requests.to_jsonl()
    """

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self._lines: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._size = 0

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[dict[str, Any]]:
        """The request lines so far (copies)."""
        return [dict(line) for line in self._lines]

    @property
    def custom_ids(self) -> list[str]:
        return [str(line["custom_id"]) for line in self._lines]

    def add(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        custom_id: str | None = None,
        model: str | None = None,
        **params: Any,
    ) -> str:
        """Add one conversation (with any chat parameters); returns its ``custom_id``
        (default ``request-N``, N its 1-based position)."""
        number = len(self._lines) + 1
        chosen = model or self.model or self._model() or DEFAULT_V2_MODEL
        body = _v2.build_body(chosen, messages, params, stream=False)
        try:
            _v2.validate(body)
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                f"line {number}.body.{exc.field}", exc.rule, error_code=exc.error_code
            ) from exc
        cid = custom_id if custom_id is not None else f"request-{number}"
        return self.add_line(facts.request_line(cid, body))

    def add_line(self, line: Mapping[str, Any]) -> str:
        """Add a ready request line (``custom_id``, ``method``, ``url``, ``body``)."""
        number = len(self._lines) + 1
        violation = facts.check_line(line, number)
        if violation is not None:
            raise InvalidRequestError(violation.field, violation.rule)
        if number > facts.MAX_LINES:
            raise InvalidRequestError("lines", f"at most {facts.MAX_LINES} lines in one batch")
        cid = str(line["custom_id"])
        if cid in self._ids:
            raise InvalidRequestError(f"line {number}.custom_id", f"{cid!r} is already used")
        body = dict(line["body"])
        if self.model is not None and "model" not in body:
            body["model"] = self.model
        model = body.get("model")
        first = self._model()
        if first is not None and model != first:
            raise InvalidRequestError(
                f"line {number}.body.model",
                f"every line of a batch uses one model ({first!r}), got {model!r}",
            )
        entry = {**dict(line), "method": "POST", "url": wire.V2_CHAT_PATH, "body": body}
        size = len(facts.dump_jsonl([entry]))
        if self._size + size > facts.MAX_FILE_BYTES:
            raise InvalidRequestError("file", f"at most {facts.MAX_FILE_BYTES} bytes (1 GB)")
        self._lines.append(entry)
        self._ids.add(cid)
        self._size += size
        return cid

    def _model(self) -> str | None:
        return str(self._lines[0]["body"].get("model")) if self._lines else None

    def to_jsonl(self) -> bytes:
        """The input file's content; :class:`InvalidRequestError` when it has no lines."""
        if not self._lines:
            raise InvalidRequestError("lines", "a batch needs at least one request line")
        return facts.dump_jsonl(self._lines)

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> BatchInput:
        out = cls()
        for line in lines:
            out.add_line(line)
        return out


def check_upload(content: bytes, purpose: str) -> None:
    """The documented limits of an input file, checked before it is sent."""
    if len(content) > facts.MAX_FILE_BYTES:
        raise InvalidRequestError("file", f"at most {facts.MAX_FILE_BYTES} bytes (1 GB)")
    if purpose != facts.FILE_PURPOSE:
        return
    try:
        lines = facts.parse_jsonl(content)
    except ValueError as exc:
        raise InvalidRequestError("file", f"must be JSON Lines: {exc}") from None
    violation = facts.check_file(lines, len(content))
    if violation is not None:
        raise InvalidRequestError(violation.field, violation.rule)
