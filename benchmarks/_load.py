"""A small, fast HTTP/1.1 load generator: N keep-alive connections over loopback.

Pre-encoded requests, raw asyncio sockets (no HTTP client library), responses parsed just
enough to find their end (``Content-Length`` or chunked). Bounded by a request count and a
duration. Loopback only: it refuses any other host.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


def build_request(
    method: str, host: str, port: int, target: str, body: bytes = b"", headers: str = ""
) -> bytes:
    """One pre-encoded HTTP/1.1 keep-alive request."""
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    )
    return head.encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    index = lower.find(b"\r\ncontent-length:")
    if index >= 0:
        end = lower.index(b"\r\n", index + 2)
        await reader.readexactly(int(lower[index + 17 : end]))
        return status
    if b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            await reader.readexactly(size + 2)  # Chunk data and its CRLF.
            if size == 0:
                return status
    raise RuntimeError("response without Content-Length or chunked body")


async def _worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    budget: list[int],
    result: LoadResult,
    counting: list[bool],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            if counting[0]:
                result.requests += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    request: bytes,
    *,
    connections: int = 32,
    duration: float = 5.0,
    warmup: float = 1.0,
    max_requests: int = 500_000,
) -> LoadResult:
    """Send ``request`` over ``connections`` keep-alive connections for ``warmup`` +
    ``duration`` seconds (or until ``max_requests``); count what completes after the warmup."""
    if host not in LOOPBACK:
        raise ValueError("the load generator only targets loopback")
    result = LoadResult()
    counting = [False]
    budget = [max_requests]
    start = time.perf_counter()
    deadline = start + warmup + duration
    tasks = [
        asyncio.create_task(_worker(host, port, request, deadline, budget, result, counting))
        for _ in range(connections)
    ]
    await asyncio.sleep(warmup)
    counting[0] = True
    measured_from = time.perf_counter()
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - measured_from
    return result
