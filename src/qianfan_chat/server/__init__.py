"""A local imitation of Baidu AI Cloud Qianfan's chat APIs, v1 (wenxinworkshop) and v2
(OpenAI-compatible), for testing apps offline.

Every reply is TEST DATA from a scripted engine (rules, then deterministic defaults); there is
no model behind it. Both APIs share the engine, rules, faults, rate limits and request log.
Needs the ``server`` extra (starlette, uvicorn)::

    from qianfan_chat.server import LocalServer

    with LocalServer() as server:
        server.add_rule(contains="weather", text="Sunny.")
        ...  # point a v1 client at server.base_url, an OpenAI client at server.v2_base_url

``import qianfan_chat`` never imports this package.

Modules, one concern each:

==================== ======================================================================
``config.py``        :class:`ServerConfig` and loading it from a JSON/TOML file
``engine.py``        the scripted reply engine (rules, defaults), protocol-neutral
``schema.py``        example function arguments that validate against a JSON Schema
``counted.py``       rules and faults with fire counts and ``times`` (one list for both)
``values.py``        bool-is-not-a-number checks for JSON/TOML values
``faults.py``        fault injection (:class:`Fault`, the seeded injector)
``codemap.py``       v1 integer codes <-> v2 string codes (rules and faults work on both)
``ratelimit.py``     per-key QPS/RPM/TPM sliding windows and Baidu's rate-limit headers
``auth.py``          OAuth tokens (issue, check, expire), the IAM signature check, v2 keys
``wire.py``          one raw ASGI exchange: bounded body, JSON/SSE answers, drop, logging
``routing.py``       the route apps' base: catch-all, fault plans, the IAM signature check
``log.py``           the bounded request log
``connections.py``   the uvicorn protocol subclass that lets the app reset a connection
``v1_format.py``     the v1 reply, stream chunks, usage and error body (pure functions)
``v1.py``            the v1 routes: OAuth token, wenxinworkshop chat, error 3 elsewhere
``v2_format.py``     the v2 reply, stream chunks, usage and error body (pure functions)
``v2.py``            the v2 route: ``POST {v2_prefix}/chat/completions``
``iam.py``           ``GET /v1/BCE-BEARER/token``: short-term v2 keys from IAM keys
``admin.py``         the ``/_admin/`` routes
``state.py``         :class:`ServerState`: config, engine, tokens, limiter, faults, log
``app.py``           :func:`create_app`, the Starlette app and its path dispatch
``local.py``         :class:`LocalServer`, uvicorn in a background thread
==================== ======================================================================

Order of checks on a v1 chat call: route (3), method (336101), body size (413/336001), faults,
auth (110/111, IAM 14), JSON (336002), ``check_body`` (336003/336006), ``tool_choice`` and
``response_format`` (336003), the last message's length (336003), history truncation, rate
limits (18/336501/336502), the engine.

On a v2 call (errors ``{"error": {"code", "message", "type"}}`` with their real status): route
(404), method (405), body size (413), faults, the Bearer key and ``appid`` (401), JSON (400
``malformed_json``), ``_rules_v2.check_body`` (400), the model (401 ``invalid_model``), its
``max_tokens`` range and context (400), rate limits (429), the engine.
"""

from __future__ import annotations

from .app import create_app
from .config import ServerConfig
from .engine import EngineReply, EngineRequest, ReplyEngine, Rule, ToolCall
from .faults import Fault
from .local import LocalServer
from .ratelimit import RateLimits
from .state import ServerState

__all__ = [
    "EngineReply",
    "EngineRequest",
    "Fault",
    "LocalServer",
    "RateLimits",
    "ReplyEngine",
    "Rule",
    "ServerConfig",
    "ServerState",
    "ToolCall",
    "create_app",
]
