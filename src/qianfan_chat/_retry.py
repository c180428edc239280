"""When to retry and how long to wait: data plus pure functions, shared by sync and async.

``retry_count`` is the number of retries after the first attempt (seed document 001). Retried:
error codes 2, 18, 336100, 336501, 336502 (``_codes.V1_RETRYABLE``), v2 rate-limit and server
codes, HTTP 429 and 5xx, connection errors and timeouts. Never retried: a stream that has
yielded its first chunk (the caller has seen part of an answer), and bad requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from time import time

from ._errors import APIConnectionError, APIError, RateLimitError, ServerError
from ._protocol.codes import V1_RETRYABLE

# Default bounds: no single wait longer than MAX_DELAY, and a server's Retry-After is obeyed
# up to MAX_RETRY_AFTER (a longer one is not worth blocking a call for: the error is raised).
MAX_DELAY = 20.0
MAX_RETRY_AFTER = 60.0
JITTER = 0.25  # each wait is stretched by up to 25 %, so clients that failed together spread out


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retry_count: int = 1
    backoff_factor: float = 0.0
    max_delay: float = MAX_DELAY

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based).

        Exponential from ``backoff_factor`` (f, 2f, 4f, ...) with bounded jitter and a cap; a
        server's ``Retry-After`` raises the wait to at least that.
        """
        base = 0.0
        if self.backoff_factor > 0:
            base = min(self.max_delay, self.backoff_factor * (2 ** (retry_number - 1)))
            base *= 1 + JITTER * random.random()
            base = min(base, self.max_delay)
        if retry_after is not None:
            base = max(base, retry_after)
        return base


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed."""
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIError):
        if isinstance(exc.error_code, int) and exc.error_code in V1_RETRYABLE:
            return True
        status = exc.status_code or 0
        if status == 429 or status >= 500:
            return True
        if isinstance(exc.error_code, str):
            return isinstance(exc, RateLimitError | ServerError)
    return False


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date); None if absent or bad.

    The caller gives up instead of waiting when the value exceeds :data:`MAX_RETRY_AFTER`.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime  # rare: an HTTP date (lazy: costly import)

        try:
            seconds = parsedate_to_datetime(value).timestamp() - time()
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0)
