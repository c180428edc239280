"""The v2 files API of the local server (``{v2_prefix}/files``), what batch inference reads
and writes (``shared/docs/protocol-v2-extensions.md`` section 5).

======================================== ===================================================
``POST   {v2}/files``                    multipart ``file`` + ``purpose``: the file object
``GET    {v2}/files``                    ``?purpose=&limit=&after=&order=``: an OpenAI list
``GET    {v2}/files/{id}``               the file object
``GET    {v2}/files/{id}/content``       the file's bytes
======================================== ===================================================

Files are kept in memory until the server stops (no retention limit); an upload is at most
``ServerConfig.batch_max_file_bytes`` (default 1 GB, Qianfan's limit). An unknown id answers
Qianfan's 404 ``{"error": {"code": "invalid_retrieve_file", "message": "file not found",
"type": "invalid_request_error"}}`` [doc]. The same bearer key rules as chat apply.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._protocol import batches as facts
from .._protocol import wire
from .v2_format import error_body
from .wire import Exchange, reply_id

if TYPE_CHECKING:
    from .v2 import V2App

NOT_FOUND_FILE = ("invalid_retrieve_file", "file not found")  # [doc]
REQUEST_ERROR = "invalid_request_error"
DEFAULT_LIST_LIMIT = 20  # OpenAI's default page
MAX_LIST_LIMIT = 10_000
_ID_CHARS = string.ascii_lowercase + string.digits
_ids = random.Random()


def new_id(prefix: str) -> str:
    """A Qianfan-like id: ``file-...`` or ``infer-...`` (lower-case letters and digits)."""
    return prefix + "".join(_ids.choices(_ID_CHARS, k=16))


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    order: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


class FileStore:
    """The uploaded and generated files of one server (thread-safe: the Python API and the
    server thread both read it)."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def add(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        stored = StoredFile(
            new_id(facts.FILE_ID_PREFIX),
            filename,
            purpose,
            content,
            int(time.time()),
            next(self._counter),
        )
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def __iter__(self) -> Iterator[StoredFile]:
        with self._lock:
            return iter(sorted(self._files.values(), key=lambda f: f.order))

    def __len__(self) -> int:
        return len(self._files)


async def send_v2_error(
    ex: Exchange, status: int, code: str, message: str, kind: str = REQUEST_ERROR
) -> None:
    await ex.send_json(error_body(code, message, kind, reply_id()), status=status, error_code=code)


async def send_bytes(ex: Exchange, content: bytes, content_type: bytes) -> None:
    """Answer raw bytes (a file's content) with the route's request-id header."""
    headers = ex._headers(content_type, ((b"content-length", str(len(content)).encode()),))
    ex._finish(200, None)
    ex.started = True
    await ex.send({"type": "http.response.start", "status": 200, "headers": headers})
    await ex.send({"type": "http.response.body", "body": content})


def list_page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any] | str:
    """An OpenAI list page of ``items`` (oldest first) by ``after``/``limit``/``order``, or
    the text of a bad query."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        return "order must be asc or desc"
    raw_limit = query.get("limit", str(DEFAULT_LIST_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
        return f"limit must be 1-{MAX_LIST_LIMIT}"
    if order == "desc":
        items = items[::-1]
    after = query.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[: int(raw_limit)]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > len(page),
    }


async def handle_files(app: V2App, ex: Exchange, rest: str) -> None:
    """Answer a request under ``{v2}/files`` (``rest``: the path after it)."""
    state = app.state
    store = state.files
    if rest in ("", "/"):
        if ex.method == "POST":
            await _upload(app, ex)
        elif ex.method == "GET":
            purpose = ex.query.get("purpose")
            items = [f.to_dict() for f in store if not purpose or f.purpose == purpose]
            page = list_page(items, ex.query)
            if isinstance(page, str):
                await send_v2_error(ex, 400, "invalid_argument", page)
            else:
                await ex.send_json(page)
        else:
            await _method_error(ex, "GET, POST")
        return
    file_id, _, tail = rest.lstrip("/").partition("/")
    tail = "/" + tail if tail else ""
    if tail not in ("", wire.V2_FILE_CONTENT_SEGMENT):
        await send_v2_error(ex, 404, "not_found", f"Unsupported path: {ex.method} {ex.path}")
        return
    if ex.method != "GET":
        await _method_error(ex, "GET")
        return
    stored = store.get(file_id)
    if stored is None:
        await send_v2_error(ex, 404, *NOT_FOUND_FILE)
        return
    if tail:
        await send_bytes(ex, stored.content, facts.JSONL_TYPE.encode())
    else:
        await ex.send_json(stored.to_dict())


async def _method_error(ex: Exchange, allowed: str) -> None:
    await send_v2_error(ex, 405, "method_not_supported", f"Only {allowed} is supported")


async def _upload(app: V2App, ex: Exchange) -> None:
    state = app.state
    limit = state.config.batch_max_file_bytes
    # The multipart envelope adds a few hundred bytes around the file.
    raw = await ex.read_body(limit + 64 * 1024)
    if raw is None:
        await send_v2_error(ex, 413, "file_too_large", f"a file is at most {limit} bytes")
        return
    try:
        parts = facts.parse_multipart(ex.header(b"content-type") or "", raw)
    except ValueError as exc:
        await send_v2_error(ex, 400, "invalid_argument", f"expected a multipart upload: {exc}")
        return
    upload = parts.get("file")
    purpose = parts.get("purpose")
    if upload is None:
        await send_v2_error(ex, 400, "invalid_argument", "the multipart field file is missing")
        return
    purpose_text = purpose.content.decode("utf-8", "replace").strip() if purpose else ""
    if not purpose_text:
        message = f"the multipart field purpose is missing (use {facts.FILE_PURPOSE!r})"
        await send_v2_error(ex, 400, "invalid_argument", message)
        return
    if len(upload.content) > limit:
        await send_v2_error(ex, 413, "file_too_large", f"a file is at most {limit} bytes")
        return
    stored = state.files.add(upload.filename or "upload.jsonl", purpose_text, upload.content)
    await ex.send_json(stored.to_dict())
