"""Fetched tokens, shared process-wide: v1 OAuth access tokens for App AK/SK, and v2
short-term bearer keys minted from IAM keys — one per (kind, base URL, key pair).

A token is refreshed ahead of ``expires_in`` (monotonic clock) and fetched once however many
threads, or tasks of one loop, ask at the same moment: threads queue on a ``threading.Lock``,
tasks of one event loop on an ``asyncio.Lock`` of that loop, and every waiter re-checks the
cache before fetching. A task never waits on the threads' lock (that would block its loop), so
a sync and an async caller starting together may each fetch once; the later token wins. On a
token error (v1 110/111, v2 ``invalid_iam_token``) the caller invalidates *the token it used*
(a newer one someone else fetched is kept) and fetches once more.
Unlike the official SDK there is no hour-long throttle.

The fetch itself is passed in as a callable: the client's shell sends the request the flow's
:class:`~qianfan_chat._flow.TokenSource` builds, and the source reads the reply.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import asyncio

# Refresh when less than this share of the lifetime is left (at most REFRESH_AHEAD_MAX seconds
# ahead): a 30-day token is renewed 1 hour early, a 100 s token 10 s early.
REFRESH_AHEAD_SHARE = 0.1
REFRESH_AHEAD_MAX = 3600.0

TokenKind = Literal["oauth", "bearer"]  # v1 OAuth access tokens, v2 keys minted from IAM keys


@dataclass
class _TokenSlot:
    token: str | None = None
    refresh_at: float = 0.0
    # Held by a sync caller for the whole fetch (threads queue on it). The async path never
    # takes it: a task waiting on a thread's lock would freeze its whole event loop (a 3 s
    # token reply froze an ado() on the same AK/SK for 2.8 s).
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Held only for a few bytecodes (the loop-lock table, storing a token): safe on a loop.
    meta: threading.Lock = field(default_factory=threading.Lock)
    # asyncio is imported only on the async path: a sync user never pays for it.
    loop_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def fresh(self, stale: str | None) -> str | None:
        if self.token and self.token != stale and time.monotonic() < self.refresh_at:
            return self.token
        return None

    def store(self, token: str, expires_in: float) -> None:
        ahead = min(expires_in * REFRESH_AHEAD_SHARE, REFRESH_AHEAD_MAX)
        with self.meta:
            self.token = token
            self.refresh_at = time.monotonic() + max(expires_in - ahead, 0.0)

    def loop_lock(self) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        with self.meta:
            lock = self.loop_locks.get(loop)
            if lock is None:
                lock = self.loop_locks[loop] = asyncio.Lock()
            return lock


_slots: dict[str, _TokenSlot] = {}
_slots_lock = threading.Lock()


def _slot(kind: TokenKind, base_url: str, ak: str, sk: str) -> _TokenSlot:
    # Keyed by a digest so the process-wide table never holds the secret key in clear.
    key = hashlib.sha256(f"{kind}\0{base_url}\0{ak}\0{sk}".encode()).hexdigest()
    with _slots_lock:
        slot = _slots.get(key)
        if slot is None:
            slot = _slots[key] = _TokenSlot()
        return slot


Fetch = Callable[[], tuple[str, float]]
AsyncFetch = Callable[[], Awaitable[tuple[str, float]]]


class SharedTokens:
    """The token source of one client: ``get(fetch, stale=None)`` / ``aget(...)``.

    ``kind`` is ``"oauth"`` (v1) or ``"bearer"`` (v2 keys from IAM keys); ``stale`` is a token
    the server just rejected, never returned again.
    """

    def __init__(self, kind: TokenKind, base_url: str, ak: str, sk: str) -> None:
        self._slot = _slot(kind, base_url, ak, sk)

    def get(self, fetch: Fetch, stale: str | None = None) -> str:
        slot = self._slot
        token = slot.fresh(stale)
        if token:
            return token
        with slot.lock:
            token = slot.fresh(stale)
            if token:
                return token
            slot.store(*fetch())
            assert slot.token is not None
            return slot.token

    async def aget(self, fetch: AsyncFetch, stale: str | None = None) -> str:
        slot = self._slot
        token = slot.fresh(stale)
        if token:
            return token
        async with slot.loop_lock():
            token = slot.fresh(stale)
            if token:
                return token
            new_token, expires_in = await fetch()
            slot.store(new_token, expires_in)
            return new_token


def clear_token_cache() -> None:
    """Forget every cached token (for tests and for credential rotation)."""
    with _slots_lock:
        _slots.clear()
