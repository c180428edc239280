"""Per-key rate limits: QPS (error 18), RPM (336501) and TPM (336502), plus Baidu's headers.

The key is who is calling: the API key an access token was issued to, the IAM access key of a
signed request, or a v2 bearer key. Windows are SLIDING (the last 1 s for QPS, the last
60 s for RPM and TPM), so a test never straddles a window boundary by bad luck.

Counting: a request admitted by the limiter counts one request at once, and its prompt tokens;
its completion tokens are added when the reply is built. A request the limiter rejects, or that
failed earlier (auth, validation), counts nothing. TPM rejects a request when the tokens of the
last 60 s plus this request's prompt estimate would exceed the limit.

Headers (protocol.md section 1): ``X-Ratelimit-Limit-Requests``/``-Remaining-Requests`` and
``X-Ratelimit-Limit-Tokens``/``-Remaining-Tokens``. With no RPM/TPM configured nothing is
enforced or counted and the headers show the nominal :data:`NOMINAL_RPM`/:data:`NOMINAL_TPM`
with the full amount remaining.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .values import is_int

QPS_LIMIT = 18
RPM_LIMIT = 336501
TPM_LIMIT = 336502
# Nominal figures for the headers when no limit is set (Baidu's default for a new app).
NOMINAL_RPM = 300
NOMINAL_TPM = 300_000


@dataclass(frozen=True)
class RateLimits:
    """The configured limits; None means unlimited."""

    qps: int | None = None
    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (not is_int(value) or value < 0):
                raise ValueError(f"{f.name} must be a non-negative integer or null")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateLimits:
        if not isinstance(data, Mapping):
            raise ValueError("rate limits must be an object with qps, rpm, tpm")
        unknown = sorted(set(data) - {"qps", "rpm", "tpm"})
        if unknown:
            raise ValueError(f"unknown rate-limit keys: {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, int | None]:
        return {"qps": self.qps, "rpm": self.rpm, "tpm": self.tpm}

    @property
    def active(self) -> bool:
        return self.qps is not None or self.rpm is not None or self.tpm is not None


class _Usage:
    __slots__ = ("minute", "second", "token_sum", "tokens")

    def __init__(self) -> None:
        self.second: deque[float] = deque()
        self.minute: deque[float] = deque()
        self.tokens: deque[tuple[float, int]] = deque()
        self.token_sum = 0

    def prune(self, now: float) -> None:
        second, minute, tokens = self.second, self.minute, self.tokens
        while second and second[0] <= now - 1.0:
            second.popleft()
        while minute and minute[0] <= now - 60.0:
            minute.popleft()
        while tokens and tokens[0][0] <= now - 60.0:
            self.token_sum -= tokens.popleft()[1]


class RateLimiter:
    """Sliding-window limiter keyed by caller. Thread-safe (the lock is uncontended in the
    server's own thread; tests change limits from theirs)."""

    def __init__(
        self, limits: RateLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._limits = limits or RateLimits()
        self._clock = clock
        self._usage: dict[str, _Usage] = {}

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def set(self, limits: RateLimits) -> None:
        """Replace the limits (usage counted so far is kept)."""
        with self._lock:
            self._limits = limits

    def update(self, **changes: int | None) -> RateLimits:
        """Change some limits (None removes one)."""
        with self._lock:
            self._limits = replace(self._limits, **changes)
            return self._limits

    def reset(self, limits: RateLimits | None = None) -> None:
        """Forget all usage; set ``limits`` (default: none)."""
        with self._lock:
            self._limits = limits or RateLimits()
            self._usage = {}

    def admit(self, key: str, prompt_tokens: int) -> int | None:
        """Count one request by ``key``; return the error code if a limit refuses it."""
        limits = self._limits
        if not limits.active:
            return None
        with self._lock:
            now = self._clock()
            usage = self._usage.get(key)
            if usage is None:
                usage = self._usage[key] = _Usage()
            usage.prune(now)
            if limits.qps is not None and len(usage.second) >= limits.qps:
                return QPS_LIMIT
            if limits.rpm is not None and len(usage.minute) >= limits.rpm:
                return RPM_LIMIT
            if limits.tpm is not None and usage.token_sum + prompt_tokens > limits.tpm:
                return TPM_LIMIT
            usage.second.append(now)
            usage.minute.append(now)
            if prompt_tokens:
                usage.tokens.append((now, prompt_tokens))
                usage.token_sum += prompt_tokens
        return None

    def add_tokens(self, key: str, tokens: int) -> None:
        """Count a reply's completion tokens against ``key``'s TPM window."""
        if not self._limits.active or tokens <= 0:
            return
        with self._lock:
            usage = self._usage.get(key)
            if usage is not None:
                usage.tokens.append((self._clock(), tokens))
                usage.token_sum += tokens

    def headers(self, key: str | None) -> list[tuple[bytes, bytes]]:
        """Baidu's four rate-limit headers for a reply to ``key``."""
        limits = self._limits
        rpm = limits.rpm if limits.rpm is not None else NOMINAL_RPM
        tpm = limits.tpm if limits.tpm is not None else NOMINAL_TPM
        left_requests, left_tokens = rpm, tpm
        if limits.active and key is not None:
            with self._lock:
                usage = self._usage.get(key)
                if usage is not None:
                    usage.prune(self._clock())
                    if limits.rpm is not None:
                        left_requests = max(0, rpm - len(usage.minute))
                    if limits.tpm is not None:
                        left_tokens = max(0, tpm - usage.token_sum)
        return [
            (b"X-Ratelimit-Limit-Requests", str(rpm).encode()),
            (b"X-Ratelimit-Remaining-Requests", str(left_requests).encode()),
            (b"X-Ratelimit-Limit-Tokens", str(tpm).encode()),
            (b"X-Ratelimit-Remaining-Tokens", str(left_tokens).encode()),
        ]
