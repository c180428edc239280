"""``create_app``: the local Qianfan server as a Starlette ASGI app.

Routes: ``/_admin/...`` (see :mod:`.admin`); ``{v2_prefix}/chat/completions`` and every other
path under the v2 prefix to the v2 app (:mod:`.v2`); ``/v1/BCE-BEARER/token`` to the IAM app
(:mod:`.iam`); every other path to the v1 app (:mod:`.v1`), which answers the OAuth and chat
routes and error 3 for the rest. The app can
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
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from .._protocol import wire
from .admin import admin_routes
from .admin_guard import AdminGuard
from .config import ServerConfig
from .iam import IamApp
from .state import ServerState
from .v1 import INTERNAL, V1App
from .v1_format import error_body
from .v2 import V2App

logger = logging.getLogger("qianfan_chat.server")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Only reached by a bug outside the route apps (each catches its own, see routing.RouteApp):
    # v1's shape, as for every path that is not v2's.
    return JSONResponse(error_body(INTERNAL), status_code=500)


class Dispatch:
    """Send each non-admin request to the app that owns its path (raw ASGI, no copies)."""

    def __init__(self, state: ServerState) -> None:
        self.v1 = V1App(state)
        self.v2 = V2App(state)
        self.iam = IamApp(state)
        self.v2_chat_path = state.v2_chat_path
        prefix = state.config.v2_prefix
        self.v2_under = prefix + "/" if prefix else None
        self.v1_chat_prefix = state.chat_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == self.v2_chat_path or (
            self.v2_under is not None
            and path.startswith(self.v2_under)
            and not path.startswith(self.v1_chat_prefix)
        ):
            await self.v2(scope, receive, send)
        elif path == wire.BEARER_PATH:
            await self.iam(scope, receive, send)
        else:
            await self.v1(scope, receive, send)


def create_app(
    config: ServerConfig | None = None, *, state: ServerState | None = None
) -> Starlette:
    """A Starlette app serving the v1 and v2 API imitation described by ``config``.

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
        admin = AdminGuard(Router(routes=admin_routes(state)), state.config)
        routes.append(Mount("/_admin", app=admin))
    routes.append(Route("/{path:path}", Dispatch(state)))
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.qianfan = state
    return app
