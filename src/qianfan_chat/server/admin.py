"""Admin routes under ``/_admin/`` (not Baidu's): inspect and script a running server.

Plain JSON in and out; errors are ``{"error": "..."}`` with HTTP 400 (bad input) or 404.
They are unauthenticated (the server binds loopback by default) and can be turned off with
``ServerConfig(admin=False)``. Admin calls are not written to the request log.

======================== ==================================================================
``GET /_admin/health``   ``{"status": "ok", ...counts}``
``GET /_admin/requests`` ``{"requests": [...]}``; ``DELETE`` empties the log
``/_admin/rules``        ``GET`` lists (with fire counts), ``POST`` adds one rule or a list,
                         ``DELETE`` removes all
``/_admin/faults``       same for faults
``/_admin/rate_limits``  ``GET`` shows, ``POST`` changes the given limits (null removes
                         one), ``DELETE`` removes all and forgets usage
``/_admin/batches``      ``GET`` shows the batch pace, ``POST`` changes it
                         (``{"line_seconds": 0.2, "hour_seconds": 1}``)
``POST /_admin/reset``   back to the start-up state (rules, faults + seed, limits, log, pace)
======================== ==================================================================
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import parse_faults
from .ratelimit import RateLimits
from .state import ServerState

Handler = Callable[[Request], Awaitable[Response]]


class BadInput(ValueError):
    pass


async def _json(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body) if body.strip() else None
    except ValueError as exc:
        raise BadInput(f"invalid JSON: {exc}") from exc


def _guard(handler: Handler) -> Handler:
    """Turn bad input into HTTP 400 ``{"error": ...}``."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return wrapped


def admin_routes(state: ServerState) -> list[Route]:
    """The admin routes acting on ``state`` (mount them at ``/_admin``)."""

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "open_mode": state.config.open_mode,
                "v2_open_mode": state.config.v2_open_mode,
                "v2_base_path": state.config.v2_prefix,
                "rules": len(state.engine.rules),
                "faults": len(state.faults.faults),
                "requests": len(state.log),
                "tokens": len(state.tokens),
                "api_keys_minted": len(state.api_keys),
            }
        )

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.log.clear()
            return JSONResponse({"requests": []})
        return JSONResponse({"requests": state.log.snapshot()})

    async def rules(request: Request) -> Response:
        if request.method == "POST":
            data = await _json(request)
            if data is None:
                raise BadInput("send a rule object or a list of rules")
            added = state.engine.add_rules(data if isinstance(data, list) else [data])
            return JSONResponse(
                {"added": [r.to_dict() for r in added], "rules": state.engine.describe()}
            )
        if request.method == "DELETE":
            state.engine.clear()
        return JSONResponse({"rules": state.engine.describe()})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            data = await _json(request)
            if data is None:
                raise BadInput("send a fault object or a list of faults")
            added = parse_faults(data)
            for fault in added:
                state.faults.add(fault)
            return JSONResponse(
                {"added": [f.to_dict() for f in added], "faults": state.faults.describe()}
            )
        if request.method == "DELETE":
            state.faults.clear()
        return JSONResponse({"faults": state.faults.describe()})

    async def rate_limits(request: Request) -> Response:
        if request.method == "POST":
            data = await _json(request)
            if not isinstance(data, dict):
                raise BadInput("send an object with qps, rpm and/or tpm")
            RateLimits.from_dict(data)  # Validates names and values.
            state.limiter.update(**data)
        elif request.method == "DELETE":
            state.limiter.reset()
        return JSONResponse(state.limiter.limits.to_dict())

    async def batches(request: Request) -> Response:
        if request.method == "POST":
            data = await _json(request)
            if not isinstance(data, dict):
                raise BadInput("send an object with line_seconds and/or hour_seconds")
            state.batches.set_pace(**data)
        return JSONResponse(
            {**state.batches.pace.to_dict(), "jobs": len(state.batches), "files": len(state.files)}
        )

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"status": "reset"})

    return [
        Route("/health", _guard(health), methods=["GET"]),
        Route("/requests", _guard(requests), methods=["GET", "DELETE"]),
        Route("/rules", _guard(rules), methods=["GET", "POST", "DELETE"]),
        Route("/faults", _guard(faults), methods=["GET", "POST", "DELETE"]),
        Route("/rate_limits", _guard(rate_limits), methods=["GET", "POST", "DELETE"]),
        Route("/batches", _guard(batches), methods=["GET", "POST"]),
        Route("/reset", _guard(reset), methods=["POST"]),
    ]
