"""Qianfan's batch inference (v2 files + batches): the ``Files`` / ``Batches`` APIs a
:class:`ChatCompletion` hands out as ``chat.files`` and ``chat.batches``. The typed objects
and the checked request-line builder are :mod:`._batch_objects`' (re-exported here).

Every operation is written once, as a generator that yields the calls it needs (a
:class:`~._flow.CallSpec`, run through the same flow as chat: auth plan, retries, token refresh,
typed errors) or a :class:`~._flow.Sleep`; the sync methods drive it with the client's
``_run``, the async ones (``a``-prefixed) with ``_arun``. Facts: ``_protocol/batches.py``.

Example::

    import qianfan_chat as qianfan

    chat = qianfan.ChatCompletion(version=2)             # QIANFAN_API_KEY
    requests = qianfan.BatchInput(model="ernie-4.5-turbo-128k")
    for question in ["你好", "介绍一下千帆"]:
        requests.add([{"role": "user", "content": question}])
    batch = chat.batches.submit(requests)                 # upload + create
    batch = chat.batches.wait(batch.id, on_progress=print)
    for result in chat.batches.results(batch):            # in input order
        print(result.custom_id, result.text if result.ok else result.error)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ._batch_objects import (
    MISSING_RESULT,
    Batch,
    BatchInput,
    BatchResult,
    FileObject,
    RequestCounts,
    check_upload,
)
from ._errors import APITimeoutError, InvalidRequestError, NotFoundError
from ._flow import CallSpec, RawReply, Sleep
from ._protocol import batches as facts
from ._protocol import wire
from ._protocol.batches import BatchStatus
from ._response import QfResponse
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._client import ChatCompletion

T = TypeVar("T")
# Aliases: inside Files / Batches, "list" names the method.
FileList = list["FileObject"]
BatchList = list["Batch"]
ResultList = list["BatchResult"]
Op = Generator["CallSpec | Sleep", Any, T]

# wait(): the first poll after poll_interval seconds, each later one BACKOFF times longer, never
# more than MAX_POLL_INTERVAL apart; no overall timeout unless one is given.
DEFAULT_POLL_INTERVAL = 1.0
POLL_BACKOFF = 1.5
MAX_POLL_INTERVAL = 30.0


FileInput = bytes | str | Path | IO[bytes] | BatchInput


def _file_content(file: FileInput, filename: str | None) -> tuple[bytes, str]:
    if isinstance(file, BatchInput):
        return file.to_jsonl(), filename or "batch.jsonl"
    if isinstance(file, bytes):
        return file, filename or "batch.jsonl"
    if isinstance(file, str | Path):
        path = Path(file)
        try:
            return path.read_bytes(), filename or path.name
        except OSError as exc:
            raise InvalidRequestError("file", f"cannot read {path}: {exc.strerror}") from exc
    data = file.read()
    if not isinstance(data, bytes):
        raise InvalidRequestError("file", "open the file in binary mode ('rb')")
    name = getattr(file, "name", None)
    return data, filename or (Path(name).name if isinstance(name, str) else "batch.jsonl")


def _list_data(body: Any, *names: str) -> list[Mapping[str, Any]]:
    """The items of a list reply: ``data`` (OpenAI), else another plausible key, else a bare
    list [unverified for batches]."""
    items: Any = body
    if isinstance(body, Mapping):
        items = next((body[n] for n in ("data", *names) if isinstance(body.get(n), list)), [])
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


class _Api:
    """What ``Files`` and ``Batches`` share: the client, the calls they build, the drivers."""

    def __init__(self, chat: ChatCompletion) -> None:
        self._chat = chat

    def _spec(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        raw: bool = False,
        timeout: float | None = None,
    ) -> CallSpec:
        chat = self._chat
        settings = chat.settings
        if settings.version != 2:
            raise InvalidRequestError(
                "version",
                "batch inference is a v2 API: make the client with version=2 and a v2 API key "
                "(QIANFAN_API_KEY) or IAM keys",
            )
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode()
            content_type = "application/json"
        headers = {wire.APPID_HEADER: settings.appid} if settings.appid else {}
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        return CallSpec(
            url=settings.base_url + path,
            content=content,
            auth=chat._auth,
            policy=RetryPolicy(settings.retry_count, settings.backoff_factor),
            timeout=timeout if timeout is not None else settings.request_timeout,
            version=2,
            headers=headers,
            method=method,
            params=query or None,
            content_type=content_type,
            raw=raw,
        )

    def _drive(self, op: Op[T]) -> T:
        value: Any = None
        while True:
            try:
                action = op.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(action, Sleep):
                time.sleep(action.seconds)
                value = None
            else:
                value = self._chat._run(action)

    async def _adrive(self, op: Op[T]) -> T:
        import asyncio

        value: Any = None
        while True:
            try:
                action = op.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(action, Sleep):
                await asyncio.sleep(action.seconds)
                value = None
            else:
                value = await self._chat._arun(action)


def _file_path(file_id: str, tail: str = "") -> str:
    if not isinstance(file_id, str) or not file_id.strip():
        raise InvalidRequestError("file_id", "must be a file id (file-...)")
    return f"{wire.V2_FILES_PATH}/{file_id.strip()}{tail}"


def _batch_path(batch_id: str, tail: str = "") -> str:
    if not isinstance(batch_id, str) or not batch_id.strip():
        raise InvalidRequestError("batch_id", "must be a batch id (infer-...)")
    return f"{wire.V2_BATCHES_PATH}/{batch_id.strip()}{tail}"


class Files(_Api):
    """Uploaded files (``/v2/files``): ``chat.files``. Sync methods and ``a``-prefixed async
    twins.

    Example::

        f = chat.files.upload("requests.jsonl")            # purpose="batch", limits checked
        print(f.id, f.bytes)
        data = chat.files.download(f.id)                   # the file's bytes
    """

    def _upload(self, file: FileInput, purpose: str, filename: str | None) -> Op[FileObject]:
        content, name = _file_content(file, filename)
        check_upload(content, purpose)
        body, ctype = facts.multipart_body({"purpose": purpose}, "file", name, content)
        reply: QfResponse = yield self._spec(
            "POST", wire.V2_FILES_PATH, content=body, content_type=ctype
        )
        return FileObject.from_dict(reply.body)

    def _get(self, file_id: str) -> Op[FileObject]:
        reply: QfResponse = yield self._spec("GET", _file_path(file_id))
        return FileObject.from_dict(reply.body)

    def _list(
        self, purpose: str | None, limit: int | None, after: str | None, order: str | None
    ) -> Op[FileList]:
        query = {"purpose": purpose, "limit": limit, "after": after, "order": order}
        reply: QfResponse = yield self._spec("GET", wire.V2_FILES_PATH, params=query)
        return [FileObject.from_dict(item) for item in _list_data(reply.body, "files")]

    def _download(self, file_id: str) -> Op[bytes]:
        path = _file_path(file_id, wire.V2_FILE_CONTENT_SEGMENT)
        reply: RawReply = yield self._spec("GET", path, raw=True, content_type=None)
        return reply.content

    def upload(
        self, file: FileInput, *, purpose: str = facts.FILE_PURPOSE, filename: str | None = None
    ) -> FileObject:
        """Upload ``file`` (bytes, a path, a binary file object or a :class:`BatchInput`) as
        multipart ``file`` + ``purpose``. A ``batch`` file is checked first (JSON Lines,
        request-line shape, 5,000 lines, 1 GB, one model): :class:`InvalidRequestError`."""
        return self._drive(self._upload(file, purpose, filename))

    async def aupload(
        self, file: FileInput, *, purpose: str = facts.FILE_PURPOSE, filename: str | None = None
    ) -> FileObject:
        """The async :meth:`upload`."""
        return await self._adrive(self._upload(file, purpose, filename))

    def get(self, file_id: str) -> FileObject:
        """One file's metadata (``NotFoundError`` ``invalid_retrieve_file`` if unknown)."""
        return self._drive(self._get(file_id))

    async def aget(self, file_id: str) -> FileObject:
        return await self._adrive(self._get(file_id))

    def list(
        self,
        *,
        purpose: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> FileList:
        """The account's files (``GET /v2/files?after=&limit=&order=&purpose=``)."""
        return self._drive(self._list(purpose, limit, after, order))

    async def alist(
        self,
        *,
        purpose: str | None = None,
        limit: int | None = None,
        after: str | None = None,
        order: str | None = None,
    ) -> FileList:
        return await self._adrive(self._list(purpose, limit, after, order))

    def download(self, file_id: str) -> bytes:
        """A file's content (``GET /v2/files/{id}/content``)."""
        return self._drive(self._download(file_id))

    async def adownload(self, file_id: str) -> bytes:
        return await self._adrive(self._download(file_id))


Progress = Callable[[Batch], object]


class Batches(_Api):
    """Batch jobs (``/v2/batches``): ``chat.batches``. Sync methods and ``a``-prefixed async
    twins (``await_`` for :meth:`wait`).

    Example::

        batch = chat.batches.create(input_file_id=f.id, completion_window="24h")
        batch = chat.batches.wait(batch.id, on_progress=lambda b: print(b.request_counts))
        results = chat.batches.results(batch)     # joined to the input by custom_id
    """

    def __init__(self, chat: ChatCompletion) -> None:
        super().__init__(chat)
        self._files = Files(chat)

    def _create(
        self,
        input_file_id: str,
        endpoint: str,
        completion_window: str,
        metadata: Mapping[str, str] | None,
        replace: Mapping[str, Any] | None,
    ) -> Op[Batch]:
        body: dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": completion_window,
        }
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if replace is not None:
            body["replace"] = dict(replace)
        violation = facts.check_create(body)
        if violation is not None:
            raise InvalidRequestError(violation.field, violation.rule)
        reply: QfResponse = yield self._spec("POST", wire.V2_BATCHES_PATH, body=body)
        return Batch.from_dict(reply.body)

    def _submit(
        self,
        requests: BatchInput | Iterable[Mapping[str, Any]],
        completion_window: str,
        metadata: Mapping[str, str] | None,
        replace: Mapping[str, Any] | None,
    ) -> Op[Batch]:
        built = requests if isinstance(requests, BatchInput) else BatchInput.from_lines(requests)
        uploaded: FileObject = yield from self._files._upload(built, facts.FILE_PURPOSE, None)
        created: Batch = yield from self._create(
            uploaded.id, wire.V2_CHAT_PATH, completion_window, metadata, replace
        )
        return created

    def _get(self, batch_id: str) -> Op[Batch]:
        reply: QfResponse = yield self._spec("GET", _batch_path(batch_id))
        return Batch.from_dict(reply.body)

    def _list(self, limit: int | None, after: str | None) -> Op[BatchList]:
        query = {"limit": limit, "after": after}
        reply: QfResponse = yield self._spec("GET", wire.V2_BATCHES_PATH, params=query)
        return [Batch.from_dict(item) for item in _list_data(reply.body, "batches", "tasks")]

    def _cancel(self, batch_id: str) -> Op[Batch]:
        path = _batch_path(batch_id, wire.V2_BATCH_CANCEL_SEGMENT)
        reply: QfResponse = yield self._spec("POST", path, content_type=None)
        return Batch.from_dict(reply.body)

    def _wait(
        self,
        batch_id: str,
        poll_interval: float,
        max_interval: float,
        timeout: float | None,
        on_progress: Progress | None,
    ) -> Op[Batch]:
        if poll_interval <= 0 or max_interval <= 0:
            raise InvalidRequestError("poll_interval", "must be > 0 seconds")
        if timeout is not None and timeout < 0:
            raise InvalidRequestError("timeout", "must be >= 0 seconds (None: no limit)")
        started = time.monotonic()
        delay = poll_interval
        while True:
            batch: Batch = yield from self._get(batch_id)
            if on_progress is not None:
                on_progress(batch)
            if batch.is_finished:
                return batch
            waited = time.monotonic() - started
            if timeout is not None and waited + delay > timeout:
                raise APITimeoutError(
                    f"batch {batch.id} is still {batch.status} after {waited:.1f} s "
                    f"(timeout {timeout} s)"
                )
            yield Sleep(delay)
            delay = min(max_interval, delay * POLL_BACKOFF)

    def _download_lines(self, file_id: str | None) -> Op[Any]:
        if not file_id:
            return []
        content: bytes = yield from self._files._download(file_id)
        try:
            return facts.parse_jsonl(content)
        except ValueError:
            return []

    def _results(self, batch: Batch | str) -> Op[ResultList]:
        if isinstance(batch, str):
            batch = yield from self._get(batch)
        found: dict[str, BatchResult] = {}
        order: Any = []
        # Error lines first, so an output line for the same custom_id wins.
        for file_id in (batch.error_file_id, batch.output_file_id):
            for item in (yield from self._download_lines(file_id)):
                line = facts.read_result_line(item)
                if line is None:
                    continue
                if line.custom_id not in found:
                    order.append(line.custom_id)
                found[line.custom_id] = BatchResult(
                    line.custom_id, line.status_code, line.request_id, line.body, line.error
                )
        inputs: Any = []
        if batch.input_file_id:
            try:
                inputs = yield from self._download_lines(batch.input_file_id)
            except NotFoundError:
                inputs = []  # The input is gone (retention): keep the files' order.
        ids = [str(i["custom_id"]) for i in inputs if isinstance(i, Mapping) and "custom_id" in i]
        if ids:
            order = ids + [cid for cid in order if cid not in set(ids)]
        return [
            found.get(cid) or BatchResult(cid, None, None, None, dict(MISSING_RESULT))
            for cid in order
        ]

    def create(
        self,
        *,
        input_file_id: str,
        endpoint: str = wire.V2_CHAT_PATH,
        completion_window: str = facts.DEFAULT_WINDOW,
        metadata: Mapping[str, str] | None = None,
        replace: Mapping[str, Any] | None = None,
    ) -> Batch:
        """Start a batch over an uploaded file. ``completion_window``: 1h-672h (default
        ``24h``); ``metadata``: at most 16 string pairs; ``replace``: e.g.
        ``{"model": ...}`` to run every line with another model."""
        return self._drive(
            self._create(input_file_id, endpoint, completion_window, metadata, replace)
        )

    async def acreate(
        self,
        *,
        input_file_id: str,
        endpoint: str = wire.V2_CHAT_PATH,
        completion_window: str = facts.DEFAULT_WINDOW,
        metadata: Mapping[str, str] | None = None,
        replace: Mapping[str, Any] | None = None,
    ) -> Batch:
        return await self._adrive(
            self._create(input_file_id, endpoint, completion_window, metadata, replace)
        )

    def submit(
        self,
        requests: BatchInput | Iterable[Mapping[str, Any]],
        *,
        completion_window: str = facts.DEFAULT_WINDOW,
        metadata: Mapping[str, str] | None = None,
        replace: Mapping[str, Any] | None = None,
    ) -> Batch:
        """Check, upload and start a batch in one call (``requests``: a :class:`BatchInput`
        or request lines)."""
        return self._drive(self._submit(requests, completion_window, metadata, replace))

    async def asubmit(
        self,
        requests: BatchInput | Iterable[Mapping[str, Any]],
        *,
        completion_window: str = facts.DEFAULT_WINDOW,
        metadata: Mapping[str, str] | None = None,
        replace: Mapping[str, Any] | None = None,
    ) -> Batch:
        return await self._adrive(self._submit(requests, completion_window, metadata, replace))

    def get(self, batch_id: str) -> Batch:
        return self._drive(self._get(batch_id))

    async def aget(self, batch_id: str) -> Batch:
        return await self._adrive(self._get(batch_id))

    def list(self, *, limit: int | None = None, after: str | None = None) -> BatchList:
        """The account's batches (``GET /v2/batches``; the list's envelope is unverified:
        ``data``, ``batches`` or a bare list are all read)."""
        return self._drive(self._list(limit, after))

    async def alist(self, *, limit: int | None = None, after: str | None = None) -> BatchList:
        return await self._adrive(self._list(limit, after))

    def cancel(self, batch_id: str) -> Batch:
        """Ask to stop a batch (``POST /v2/batches/{id}/cancel``): it goes ``Stopping``, then
        ``Stopped``; lines answered so far keep their results."""
        return self._drive(self._cancel(batch_id))

    async def acancel(self, batch_id: str) -> Batch:
        return await self._adrive(self._cancel(batch_id))

    def wait(
        self,
        batch_id: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_interval: float = MAX_POLL_INTERVAL,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Batch:
        """Poll until the batch is finished and return it. Polls after ``poll_interval``
        seconds (default 1), each wait 1.5 times longer, at most ``max_interval`` (30 s)
        apart; ``on_progress(batch)`` after every poll; :class:`APITimeoutError` after
        ``timeout`` seconds (default: none)."""
        return self._drive(self._wait(batch_id, poll_interval, max_interval, timeout, on_progress))

    async def await_(
        self,
        batch_id: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_interval: float = MAX_POLL_INTERVAL,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Batch:
        """The async :meth:`wait` (``await`` is a keyword, hence the underscore)."""
        return await self._adrive(
            self._wait(batch_id, poll_interval, max_interval, timeout, on_progress)
        )

    def results(self, batch: Batch | str) -> ResultList:
        """Every line's outcome, joined by ``custom_id`` and in the input file's order: the
        output file's replies, the error file's errors, and a ``no_result`` error for a line
        neither has (a stopped or expired batch)."""
        return self._drive(self._results(batch))

    async def aresults(self, batch: Batch | str) -> ResultList:
        return await self._adrive(self._results(batch))


__all__ = [
    "Batch",
    "BatchInput",
    "BatchResult",
    "BatchStatus",
    "Batches",
    "FileObject",
    "Files",
    "RequestCounts",
]
