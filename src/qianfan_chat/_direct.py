"""The default sync client's direct road, and the environment's proxies for both default clients.

httpx's client layer (``Client.build_request`` parsing the URL and its query again on every
call, then ``send``'s auth, redirect, cookie and hook machinery) costs more CPU per call than
the connection pool under it (issue 10's profile: with a v1 token in the query, two URL parses
alone were a seventh of a call). :class:`SyncSender` does what ``Client.send`` does for a
client with no auth, no cookies, no hooks and no redirects to follow, which is what the default
client is: the client's default headers, httpx's request timeouts, the transport httpx would
pick for the URL (its pool, or the environment's proxy), httpx's ``HTTP Request`` log line, and
an ``httpx.Response`` whose errors are httpx's. It keeps the parsed URL of each target, so a
call parses nothing. Callers' own clients (``http_client=``) never take it.

What it leaves out, on purpose: cookies a server sets are not sent back (Qianfan's API is
stateless; the async road never sent them either), and ``Response.elapsed`` is not set.

The default clients honour the environment's proxies as ``httpx.Client()`` does
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, read when the client is made):
:func:`proxy_map` is httpx's own reading of them, for the async client's aiohttp transports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

if TYPE_CHECKING:
    from ._flow import Send

_HTTPX_LOG = logging.getLogger("httpx")

# Parsed targets kept per sender; a v1 token in the query changes monthly, an IAM signature is
# in a header, so a handful is the working set. Cleared past this (never unbounded).
_MAX_TARGETS = 256


T = TypeVar("T")


class Targets(Generic[T]):
    """Each URL (with its query) a sender sends to, parsed once by httpx and kept as what
    ``make`` builds from it (the URL, the transport httpx would pick for it...)."""

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[httpx.URL], T]) -> None:
        self._make = make
        self._made: dict[tuple[str, tuple[tuple[str, str], ...]], T] = {}

    def get(self, url: str, params: Mapping[str, str] | None) -> T:
        key = (url, tuple(params.items()) if params else ())
        made = self._made.get(key)
        if made is None:
            if len(self._made) >= _MAX_TARGETS:
                self._made.clear()
            made = self._made[key] = self._make(httpx.URL(url, params=params))
        return made


def proxy_map() -> dict[str, httpx.Proxy | None]:
    """The environment's proxies as httpx's ``Client`` mounts them: URL pattern -> the proxy,
    or None where ``NO_PROXY`` exempts it (the client's own transport then)."""
    from httpx._utils import get_environment_proxies  # httpx's reading, not a second one

    return {
        pattern: None if url is None else httpx.Proxy(url=url)
        for pattern, url in get_environment_proxies().items()
    }


class SyncSender:
    """One request at a time straight onto the default ``httpx.Client``'s transport (see the
    module docstring). Thread-safe as the client is: the target cache is a plain dict whose
    races only ever parse a URL twice."""

    __slots__ = ("_defaults", "_targets", "client")

    def __init__(self, client: httpx.Client) -> None:
        self.client = client  # closed by its owner
        self._defaults = {k.lower(): v for k, v in client.headers.items()}
        # The pool, or the proxy the environment names for the URL, as Client.send picks.
        self._targets: Targets[tuple[httpx.URL, Any]] = Targets(
            lambda url: (url, client._transport_for_url(url))
        )

    def send(self, action: Send) -> httpx.Response:
        """The response to ``action``, open: its body is read (and the connection released)
        by the caller, which must close it."""
        target, transport = self._targets.get(action.url, action.params)
        # httpx's timeout extension: connect, each read, each write, the wait for a pooled
        # connection (never a whole exchange).
        t = action.timeout
        timeout = {"connect": t, "read": t, "write": t, "pool": t}
        sent = self._defaults.copy()
        for name, value in action.headers.items():
            sent[name.lower()] = value
        request = httpx.Request(
            action.method,
            target,
            headers=sent,
            content=action.content,
            extensions={"timeout": timeout},
        )
        response: httpx.Response = transport.handle_request(request)
        response.request = request
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _HTTPX_LOG.info(
                'HTTP Request: %s %s "%s %d %s"',
                action.method,
                target,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        return response
