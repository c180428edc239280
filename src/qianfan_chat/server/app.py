"""``create_app``: the local Qianfan server as a Starlette ASGI app.

Routes: ``/_admin/...`` (see :mod:`.admin`), then every other path goes to the v1 app
(:mod:`.v1`), which answers the OAuth and chat routes and error 3 for the rest. The app can
be served by any ASGI server or called in-process (``httpx.ASGITransport``); the ``drop``
and aborting ``stream_cut`` faults need a connection the app can reset, which
:class:`~qianfan_chat.server.LocalServer` and ``qianfan-chat serve`` provide.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .admin import admin_routes
from .config import ServerConfig
from .state import ServerState
from .v1 import V1App
from .wire import error_body

logger = logging.getLogger("qianfan_chat.server")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Only reached by a bug outside the v1 app (which catches its own); Baidu's shape anyway.
    return JSONResponse(error_body(336000), status_code=500)


def create_app(
    config: ServerConfig | None = None, *, state: ServerState | None = None
) -> Starlette:
    """A Starlette app serving the v1 API imitation described by ``config``.

    The live :class:`ServerState` (engine, faults, limiter, log) is ``app.state.qianfan``.

    >>> from qianfan_chat.server import ServerConfig, create_app
    >>> app = create_app(ServerConfig(ak_sk={"ak": "sk"}))
    >>> app.state.qianfan.engine.add_rule(contains="hi", text="hello!")  # doctest: +ELLIPSIS
    Rule(text='hello!', ...)
    """
    if state is None:
        state = ServerState(config)
    routes: list[BaseRoute] = []
    if state.config.admin:
        routes.append(Mount("/_admin", routes=admin_routes(state)))
    routes.append(Route("/{path:path}", V1App(state)))
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.qianfan = state
    return app
