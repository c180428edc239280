"""Keep secrets out of logs.

httpx logs every request URL at INFO, and a v1 URL carries ``access_token`` (and the OAuth URL
``client_id``/``client_secret``) in its query. A filter on the httpx and httpcore loggers
rewrites any such record before a handler sees it (aiohttp's loggers too: it is the async
engine). It is installed when the first client is
made, and is a no-op cost unless those loggers are enabled.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger("qianfan_chat")

_PATTERNS = (
    re.compile(r"((?:access_token|client_id|client_secret)=)[^&\s\"'>]+"),
    re.compile(r"(bce-auth-v1/)[^\s\"'>]+"),
    re.compile(r"((?:Bearer|bearer)\s+)[^\s\"'>]+"),
)
_MASK = r"\1***"

# Every logger that may print a URL or a header: filters apply to records a logger creates,
# not to those its children pass up, so each one is named.
_FOREIGN_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    # the async engine (see _transport.py): aiohttp's client and internal loggers
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "httpx_aiohttp",
    "qianfan_chat",
)


def redact(text: str) -> str:
    """``text`` with tokens, keys and signatures masked."""
    for pattern in _PATTERNS:
        text = pattern.sub(_MASK, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        return True


_FILTER = RedactingFilter()
_installed = False


def install_redaction() -> None:
    global _installed
    if _installed:
        return
    for name in _FOREIGN_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    _installed = True
