"""Qianfan's batch inference (files + batches), written down once: the statuses, the limits,
the shape of a request line and of a result line, and the multipart body of an upload. Pure
functions, standard library only; the client (``_batches.py``) and the local server
(``server/files.py``, ``server/batches.py``) both read them.

Source: ``shared/docs/protocol-v2-extensions.md`` section 5. Where a fact is unverified there
(the status spellings beyond Qianfan's own, the result-line shape, the list envelope), the
readers here accept every plausible form and the builders send the documented one.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from . import wire


class BatchStatus(str, Enum):
    """A batch's status, in Qianfan's own (capitalised) spelling [doc]; ``Stopping`` while a
    cancel takes effect [3p]. :meth:`parse` also reads OpenAI's lower-case names."""

    RUNNING = "Running"
    STOPPING = "Stopping"
    DONE = "Done"
    STOPPED = "Stopped"
    FAILED = "Failed"
    EXPIRED = "Expired"

    def __str__(self) -> str:
        return self.value

    @property
    def is_finished(self) -> bool:
        """True once the batch will not change again (Done, Stopped, Failed, Expired)."""
        return self in FINISHED

    @classmethod
    def parse(cls, value: Any) -> BatchStatus | None:
        """The status a reply names, in any case, Qianfan's or OpenAI's spelling; None when
        it names none we know."""
        if not isinstance(value, str):
            return None
        return _STATUS_ALIASES.get(value.strip().lower())


FINISHED: Final = frozenset(
    {BatchStatus.DONE, BatchStatus.STOPPED, BatchStatus.FAILED, BatchStatus.EXPIRED}
)
_STATUS_ALIASES: Final[dict[str, BatchStatus]] = {
    **{s.value.lower(): s for s in BatchStatus},
    # OpenAI's names, which some gateways in front of Qianfan may send [unverified].
    "validating": BatchStatus.RUNNING,
    "in_progress": BatchStatus.RUNNING,
    "finalizing": BatchStatus.RUNNING,
    "completed": BatchStatus.DONE,
    "cancelling": BatchStatus.STOPPING,
    "canceling": BatchStatus.STOPPING,
    "cancelled": BatchStatus.STOPPED,
    "canceled": BatchStatus.STOPPED,
}

# -- limits [doc 2026-02] ----------------------------------------------------------------------
MAX_LINES: Final = 5000  # request lines in one input file
MAX_FILE_BYTES: Final = 1024**3  # 1 GB, one input file
MAX_METADATA_PAIRS: Final = 16
MIN_WINDOW_HOURS: Final = 1
MAX_WINDOW_HOURS: Final = 672
DEFAULT_WINDOW: Final = "24h"
FILE_PURPOSE: Final = "batch"
FILE_ID_PREFIX: Final = "file-"
BATCH_ID_PREFIX: Final = "infer-"
JSONL_TYPE: Final = "application/jsonl"

_WINDOW = re.compile(r"^\s*(\d+)\s*h\s*$", re.I)


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken batch rule: the field and what it must satisfy."""

    field: str
    rule: str


def window_hours(value: Any) -> int | None:
    """The hours of a ``completion_window`` (``"24h"``; a bare number of hours is read too),
    or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _WINDOW.match(value)
        if match:
            return int(match.group(1))
        if value.strip().isdigit():
            return int(value)
    return None


def check_create(body: Mapping[str, Any]) -> Violation | None:
    """The rules of ``POST /v2/batches``: an input file, the chat endpoint, a window of
    1h-672h, at most 16 string metadata pairs, ``replace`` an object."""
    file_id = body.get("input_file_id")
    if not isinstance(file_id, str) or not file_id:
        return Violation("input_file_id", "must be the id of an uploaded file")
    endpoint = body.get("endpoint", wire.V2_CHAT_PATH)
    if not is_chat_url(endpoint):
        return Violation("endpoint", f"must be {wire.V2_CHAT_PATH!r}")
    hours = window_hours(body.get("completion_window", DEFAULT_WINDOW))
    if hours is None or not MIN_WINDOW_HOURS <= hours <= MAX_WINDOW_HOURS:
        return Violation(
            "completion_window",
            f"must be {MIN_WINDOW_HOURS}h-{MAX_WINDOW_HOURS}h, e.g. {DEFAULT_WINDOW!r}",
        )
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            return Violation("metadata", "must map strings to strings")
        if len(metadata) > MAX_METADATA_PAIRS:
            return Violation("metadata", f"at most {MAX_METADATA_PAIRS} pairs")
    replace = body.get("replace")
    if replace is not None and not isinstance(replace, Mapping):
        return Violation("replace", 'must be an object such as {"model": "ernie-4.5-turbo-128k"}')
    return None


def is_chat_url(url: Any) -> bool:
    """Whether a line's ``url`` (or a batch's ``endpoint``) names v2 chat; the bare
    ``/chat/completions`` of OpenAI-style files is read as the same route."""
    if not isinstance(url, str):
        return False
    path = url.strip().rstrip("/")
    return path in (wire.V2_CHAT_PATH, wire.V2_CHAT_PATH[len(wire.V2_PREFIX) :])


def request_line(custom_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """One input line: ``{"custom_id", "method": "POST", "url": "/v2/chat/completions",
    "body"}``."""
    return {"custom_id": custom_id, "method": "POST", "url": wire.V2_CHAT_PATH, "body": body}


def check_line(line: Any, number: int) -> Violation | None:
    """The shape of input line ``number`` (1-based): an object with a string ``custom_id``,
    ``method`` POST, the chat ``url`` and a ``body`` object with a ``model``."""
    where = f"line {number}"
    if not isinstance(line, Mapping):
        return Violation(where, "must be a JSON object")
    if not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
        return Violation(f"{where}.custom_id", "must be a non-empty string")
    if str(line.get("method", "POST")).upper() != "POST":
        return Violation(f"{where}.method", 'must be "POST"')
    if not is_chat_url(line.get("url", wire.V2_CHAT_PATH)):
        return Violation(f"{where}.url", f"must be {wire.V2_CHAT_PATH!r}")
    body = line.get("body")
    if not isinstance(body, Mapping):
        return Violation(f"{where}.body", "must be a chat request object")
    return None


def check_file(lines: list[Any], size: int) -> Violation | None:
    """The rules of a whole input file: 1-5000 lines, at most 1 GB, unique ``custom_id``s,
    every line the same model [doc]."""
    if size > MAX_FILE_BYTES:
        return Violation("file", f"at most {MAX_FILE_BYTES} bytes (1 GB), got {size}")
    if not lines:
        return Violation("file", "has no request lines")
    if len(lines) > MAX_LINES:
        return Violation("file", f"at most {MAX_LINES} lines, got {len(lines)}")
    seen: set[str] = set()
    models: set[Any] = set()
    for number, line in enumerate(lines, 1):
        violation = check_line(line, number)
        if violation is not None:
            return violation
        if line["custom_id"] in seen:
            return Violation(f"line {number}.custom_id", f"{line['custom_id']!r} is repeated")
        seen.add(line["custom_id"])
        models.add(line["body"].get("model"))
    if len(models) > 1:
        shown = ", ".join(sorted(repr(m) for m in models))
        return Violation("body.model", f"every line must use the same model, got {shown}")
    return None


def parse_jsonl(content: bytes) -> list[Any]:
    """The JSON values of a JSON Lines file (blank lines skipped); a line that is not JSON
    raises ValueError naming its number."""
    out: list[Any] = []
    for number, raw in enumerate(content.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            out.append(json.loads(raw))
        except ValueError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from None
    return out


def dump_jsonl(items: Iterable[Any]) -> bytes:
    """JSON Lines, UTF-8, non-ASCII kept, one ``\\n`` after each line."""
    return b"".join(
        json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for item in items
    )


def result_line(
    custom_id: str,
    *,
    status_code: int,
    request_id: str,
    body: Any,
    error: Mapping[str, Any] | None,
    line_id: str,
) -> dict[str, Any]:
    """One output or error-file line, in the shape clients expect [3p]:
    ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``."""
    return {
        "id": line_id,
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": dict(error) if error is not None else None,
    }


@dataclass(frozen=True, slots=True)
class ResultLine:
    """A result line read back, whatever its exact form: ``body`` is the reply object (a
    JSON string body is decoded); ``error`` is ``{code, message}`` or None."""

    custom_id: str
    status_code: int | None
    request_id: str | None
    body: Any
    error: dict[str, Any] | None


def read_result_line(item: Any) -> ResultLine | None:
    """A parsed output or error line, or None when it carries no ``custom_id``. Reads the
    OpenAI shape and its plausible variants: the body at ``response.body`` or ``body``, as an
    object or JSON text; an error at ``error`` or inside the body's ``error``."""
    if not isinstance(item, Mapping) or not isinstance(item.get("custom_id"), str):
        return None
    response = item.get("response")
    response = response if isinstance(response, Mapping) else {}
    body = response.get("body", item.get("body"))
    if isinstance(body, str | bytes):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    status = response.get("status_code", item.get("status_code"))
    status = int(status) if isinstance(status, int | str) and str(status).isdigit() else None
    rid = response.get("request_id") or item.get("request_id")
    error = item.get("error")
    if not isinstance(error, Mapping):
        error = None
        inner = body.get("error") if isinstance(body, Mapping) else None
        if isinstance(inner, Mapping) or (status is not None and status >= 400):
            error = dict(inner) if isinstance(inner, Mapping) else {"code": str(status)}
    else:
        error = dict(error)
    return ResultLine(item["custom_id"], status, str(rid) if rid else None, body, error)


# -- multipart/form-data (RFC 7578), for the upload ---------------------------------------------


def multipart_body(
    fields: Mapping[str, str], file_field: str, filename: str, content: bytes
) -> tuple[bytes, str]:
    """``(body, content type)`` of a form with text ``fields`` and one file."""
    boundary = "qianfan-" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(filename)}"\r\nContent-Type: {JSONL_TYPE}\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None
    content: bytes


_DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The parts of a ``multipart/form-data`` body by field name (the first of a repeated
    name); ValueError when it is not one."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.I)
    if not content_type.lower().startswith("multipart/form-data") or not match:
        raise ValueError("expected multipart/form-data with a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, FormPart] = {}
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part has no header end")
        data = data[:-2] if data.endswith(b"\r\n") else data
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() != "content-disposition":
                continue
            for param in _DISPOSITION_PARAM.finditer(value):
                text = param.group(2) if param.group(2) is not None else param.group(3).strip()
                if param.group(1).lower() == "name":
                    name = text
                elif param.group(1).lower() == "filename":
                    filename = text
        if name is not None and name not in parts:
            parts[name] = FormPart(name, filename, data)
    if len(chunks) < 2:
        raise ValueError("no multipart boundary in the body")
    return parts
