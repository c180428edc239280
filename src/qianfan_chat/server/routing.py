"""What the route apps (v1, v2, BCE-BEARER) share: one :class:`~.wire.Exchange` per HTTP
request, a catch-all that keeps a bug from reaching the caller as a traceback, one way of
applying a fault plan, and one IAM signature check (v1 chat and BCE-BEARER both accept one).

Each route says only how it answers: its internal error, its fault error shape, and what an
``expire_token`` fault expires. The exchange itself (body, answers, drop) is :mod:`.wire`'s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from .._protocol import wire
from .auth import check_signature
from .wire import ClientGone, ConnectionDropped, Exchange

if TYPE_CHECKING:
    from .faults import Fault, FaultPlan
    from .state import ServerState

logger = logging.getLogger("qianfan_chat.server")

BCE_REQUEST_ID = wire.V1_REQUEST_ID_HEADER_SENT.encode()
RETRY_AFTER = wire.RETRY_AFTER_HEADER_SENT.encode()


def seconds_header(value: float) -> bytes:
    """A ``Retry-After`` value: whole seconds as an integer, else as given."""
    return str(int(value) if float(value).is_integer() else value).encode()


class RouteApp:
    """Base of the route apps (v1, v2, BCE-BEARER): one :class:`Exchange` per HTTP request, and
    a catch-all that turns an unexpected exception into the route's own internal-error answer
    (or a dropped connection once the answer has started), so a bad request never gets a
    traceback and the server keeps serving."""

    request_id_header: bytes = BCE_REQUEST_ID

    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        state = self.state
        ex = Exchange(
            scope,
            receive,
            send,
            log=state.log,
            limiter=state.limiter,
            connections=state.connections,
            request_id_header=self.request_id_header,
        )
        try:
            await self.handle(ex)
        except ClientGone:
            return  # Nobody to answer: the peer left (or was cut off for being too slow).
        except ConnectionDropped:
            # A drop the server cannot perform is the caller's to see (ASGITransport), not a
            # bug to answer with an internal error.
            raise
        except Exception:
            logger.exception("internal error answering %s %s", scope["method"], scope["path"])
            if ex.started:
                await ex.drop()
            else:
                await self.internal_error(ex)

    async def handle(self, ex: Exchange) -> None:
        """Answer the request."""
        raise NotImplementedError

    async def internal_error(self, ex: Exchange) -> None:
        """Answer with this route's internal-error shape."""
        raise NotImplementedError

    async def apply_plan(
        self, ex: Exchange, plan: FaultPlan, credential: str = ""
    ) -> tuple[bool, Fault | None]:
        """Apply a fault plan: ``(answered, fault left for later)``. ``answered`` is True when
        a fault answered or dropped the request; ``expire_token`` expires ``credential`` here;
        ``stream_cut`` is returned for the stream to apply."""
        ex.entry.faults = plan.fired
        if plan.latency:
            await asyncio.sleep(plan.latency)
        fault = plan.fault
        if fault is None:
            return False, None
        if fault.kind == "drop":
            await ex.drop()
            return True, None
        if fault.kind in ("error_code", "http_status"):
            extra = []
            if fault.retry_after is not None:
                extra.append((RETRY_AFTER, seconds_header(fault.retry_after)))
            await self.fault_error(ex, fault, extra)
            return True, None
        if fault.kind == "expire_token":
            self.expire(credential)
        return False, fault

    async def fault_error(
        self, ex: Exchange, fault: Fault, extra_headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Answer an ``error_code`` / ``http_status`` fault in this route's error shape."""
        raise NotImplementedError

    def expire(self, credential: str) -> None:
        """Expire the token or key the request presented (the ``expire_token`` fault)."""

    def check_request_signature(
        self, ex: Exchange, authorization: str
    ) -> tuple[str | None, str | None]:
        """``(IAM access key, None)`` if ``authorization`` is a good ``bce-auth-v1`` signature
        of this request by a configured IAM key, else ``(None, BCE's reason code)``."""
        config = self.state.config
        # The signer canonicalised every query pair, repeats included (not ex.query's dict).
        query = parse_qsl(ex.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        return check_signature(
            authorization=authorization,
            method=ex.method,
            path=ex.path,
            query=query,
            headers=ex.headers_dict(),
            iam_keys=config.iam_keys,
            check_expiry=config.iam_check_expiry,
        )
