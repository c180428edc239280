"""Fault injection: errors, bad statuses, dropped connections, cut streams, latency, expiry.

A test declares a :class:`Fault` (probability, optional filters, ``times``) and the server
misbehaves accordingly, so a client's retry, timeout and refresh logic can be tested offline.
All random draws come from one ``random.Random(seed)``, so the same seed and the same request
sequence give the same faults. A draw is made only for a fault that is eligible and whose
probability lies strictly between 0 and 1 (so ``probability=1, times=1`` fails exactly the next
eligible request, with no randomness at all).

Kinds and their parameters:

=============== ==========================================================================
``error_code``  v1: answer ``{"error_code": N, "error_msg": Baidu's text}`` (HTTP 200);
                v2: ``{"error": {"code", "message", "type"}}`` with the code's status.
                ``error_code`` is a v1 integer or a v2 string (``"rpm_rate_limit_exceeded"``);
                each route translates the other kind (:mod:`.codemap`)
``http_status`` answer HTTP ``status`` (500/502/503/429, ...) with the route's error body
                (the code defaults per status: v1 ``STATUS_CODES``, v2
                ``codemap.V2_STATUS_CODES``, 5xx ``internal_error``; the BCE-BEARER route
                answers BCE's ``{"requestId", "code", "message"}``), optional
                ``retry_after`` seconds
``drop``        close the TCP connection before any response byte
``stream_cut``  a stream ends after ``after`` events, before v1's ``is_end`` event or v2's
                ``[DONE]`` (``abort``: reset the connection instead of ending the body
                cleanly); streams only
``latency``     wait ``seconds`` before answering (every latency fault that fires adds
                up, and one other fault may fire too)
``expire_token`` v1: the presented access token expires now (this and later calls get 111);
                v2: the presented short-term key (minted by BCE-BEARER) expires now (401
                ``invalid_iam_token``); configured API keys never expire
=============== ==========================================================================

Filters: ``route``: ``chat`` (the default: both chat routes), ``v1`` (v1 chat only), ``v2``
(v2 chat only), ``oauth``, ``iam`` (the BCE-BEARER key route; ``error_code`` faults do not
apply there) or ``any``; ``path`` (substring of the request path); ``model`` (as a
:class:`~qianfan_chat.server.engine.Rule`'s ``model``). Shorthand dicts name the kind by its
key: ``{"http_status": 503, "times": 1}``, ``{"error_code": 18}``, ``{"latency": 0.5}``,
``{"stream_cut": 2}``, ``{"drop": true}``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, cast

from .._protocol.models_v1 import model_table
from .codemap import Code, is_v2_code, v1_message, v2_error, v2_for_status
from .counted import CountedList, check_times
from .v1_format import error_body
from .values import is_int, is_number

FaultKind = Literal["error_code", "http_status", "drop", "stream_cut", "latency", "expire_token"]
KINDS: tuple[FaultKind, ...] = (
    "error_code",
    "http_status",
    "drop",
    "stream_cut",
    "latency",
    "expire_token",
)
ROUTES = ("chat", "v1", "v2", "oauth", "iam", "any")
CHAT_ROUTES = ("v1", "v2")  # What the ``chat`` filter covers.
# Baidu-shaped bodies for bad statuses, by status (a fault's error_code overrides).
STATUS_CODES = {429: 18, 500: 336000, 502: 2, 503: 336100, 504: 336100}


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour (see the module docstring for kinds and parameters)."""

    kind: FaultKind
    probability: float = 1.0
    times: int | None = None
    route: str = "chat"
    path: str | None = None
    model: str | None = None
    error_code: int | str | None = None
    error_msg: str | None = None
    status: int | None = None
    retry_after: float | None = None
    after: int = 1
    abort: bool = False
    seconds: float = 0.0
    _model_keys: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if not is_number(self.probability) or not 0 <= self.probability <= 1:
            raise ValueError("probability must be a number in [0, 1]")
        check_times(self.times)
        if self.route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}")
        for name in ("path", "model", "error_msg"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.kind == "error_code" and self.error_code is None:
            raise ValueError("an error_code fault needs an error_code")
        if self.error_code is not None and not (
            is_int(self.error_code) or is_v2_code(self.error_code)
        ):
            raise ValueError("error_code must be an integer (v1) or a known v2 code string")
        status = self.status
        if self.kind == "http_status" and not (is_int(status) and 400 <= status <= 599):
            raise ValueError("an http_status fault needs a status in 400..599")
        if self.retry_after is not None and (
            not is_number(self.retry_after) or self.retry_after < 0
        ):
            raise ValueError("retry_after must be a non-negative number of seconds")
        if not is_int(self.after) or self.after < 0:
            raise ValueError("after must be a non-negative integer")
        if not is_number(self.seconds) or self.seconds < 0:
            raise ValueError("seconds must be a non-negative number")
        if not isinstance(self.abort, bool):
            raise ValueError("abort must be true or false")
        object.__setattr__(self, "_model_keys", model_table().keys_for(self.model))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from JSON data, with ``kind`` or the shorthand (a kind name as key)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a fault must be an object, got {type(data).__name__}")
        values = dict(data)
        if "kind" not in values:
            named = [k for k in KINDS if k in values]
            if not named:
                raise ValueError(f"a fault needs a kind: one of {', '.join(KINDS)}")
            kind = "http_status" if "http_status" in named else named[0]
            if len(named) > 1 and kind != "http_status":
                raise ValueError(f"a fault has one kind, got {', '.join(named)}")
            values["kind"] = kind
            shorthand = values.pop(kind) if kind != "error_code" else values["error_code"]
            param = {"http_status": "status", "stream_cut": "after", "latency": "seconds"}
            if kind in param:
                values.setdefault(param[kind], 1 if shorthand is True else shorthand)
            elif kind in ("drop", "expire_token") and shorthand is not True:
                raise ValueError(f"{kind} takes true")
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        defaults = {f.name: f.default for f in fields(self) if f.init}
        out: dict[str, Any] = {"kind": self.kind}
        for name, default in defaults.items():
            value = getattr(self, name)
            if name != "kind" and value != default:
                out[name] = value
        return out

    def body(self) -> dict[str, Any]:
        """The v1 error body this fault answers with (error_code / http_status)."""
        code: Code | None = self.error_code
        if code is None:
            status = self.status or 500
            code = STATUS_CODES.get(status, 336000 if status >= 500 else 336001)
        return error_body(*v1_message(code, self.error_msg))

    def v2_error(self) -> tuple[int, str, str, str]:
        """``(HTTP status, code, type, message)`` of the v2 error this fault answers with: an
        ``error_code`` fault takes its code's status, an ``http_status`` fault its own."""
        if self.kind == "http_status" and self.status is not None:
            code: Code = (
                self.error_code if self.error_code is not None else v2_for_status(self.status)
            )
            _, name, kind, message = v2_error(code, self.error_msg)
            return self.status, name, kind, message
        return v2_error(self.error_code if self.error_code is not None else 336000, self.error_msg)


def as_fault(fault: Fault | Mapping[str, Any]) -> Fault:
    return fault if isinstance(fault, Fault) else Fault.from_dict(fault)


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: wait ``latency`` seconds, then apply ``fault`` (if any)."""

    latency: float = 0.0
    fault: Fault | None = None
    fired: tuple[str, ...] = ()


class FaultInjector:
    """The active faults and the seeded random source that decides them. Thread-safe."""

    def __init__(self, faults: Iterable[Fault | Mapping[str, Any]] = (), seed: int = 0) -> None:
        self._faults: CountedList[Fault] = CountedList(as_fault(f) for f in faults)
        # The list's lock guards the random source too: a draw and the count it leads to
        # happen together, so the same requests meet the same faults.
        self._lock = self._faults.lock
        self._seed = seed
        self._random = random.Random(seed)

    def add(self, fault: Fault | Mapping[str, Any] | None = None, /, **fields: Any) -> Fault:
        built = as_fault(fault) if fault is not None else Fault.from_dict(fields)
        self._faults.extend((built,))
        return built

    def set(self, faults: Iterable[Fault | Mapping[str, Any]]) -> list[Fault]:
        """Replace every fault (counts start again; the random sequence continues)."""
        built = [as_fault(f) for f in faults]
        self._faults.replace(built)
        return built

    def clear(self) -> None:
        self._faults.replace(())

    def reseed(self, seed: int | None = None) -> None:
        """Restart the random sequence (from the start-up seed unless one is given)."""
        with self._lock:
            if seed is not None:
                self._seed = seed
            self._random = random.Random(self._seed)

    @property
    def faults(self) -> list[Fault]:
        return self._faults.items

    def describe(self) -> list[dict[str, Any]]:
        return self._faults.describe()

    def pick(
        self,
        *,
        route: str,
        path: str,
        model_keys: frozenset[str] = frozenset(),
        stream: bool = False,
        has_token: bool = False,
    ) -> FaultPlan | None:
        """Decide the faults for one request; None when nothing fires (the common case)."""
        if not self._faults.entries:
            return None
        latency = 0.0
        chosen: Fault | None = None
        fired: list[str] = []
        with self._lock:
            for entry in self._faults.entries:
                fault = entry.item
                if entry.exhausted():
                    continue
                if fault.route not in ("any", route) and not (
                    fault.route == "chat" and route in CHAT_ROUTES
                ):
                    continue
                if fault.kind == "error_code" and route == "iam":
                    continue
                if fault.path is not None and fault.path not in path:
                    continue
                if fault._model_keys and fault._model_keys.isdisjoint(model_keys):
                    continue
                if fault.kind == "stream_cut" and not stream:
                    continue
                if fault.kind == "expire_token" and not has_token:
                    continue
                if chosen is not None and fault.kind != "latency":
                    continue  # One non-latency fault per request: the first that fires.
                p = fault.probability
                if p <= 0 or (p < 1 and self._random.random() >= p):
                    continue
                entry.fire()
                fired.append(fault.kind)
                if fault.kind == "latency":
                    latency += fault.seconds
                else:
                    chosen = fault
        if not fired:
            return None
        return FaultPlan(latency, chosen, tuple(fired))


def parse_faults(data: Any) -> list[Fault]:
    """Faults from JSON data: one object or a list of them."""
    items = data if isinstance(data, list) else [data]
    return [Fault.from_dict(cast(Mapping[str, Any], item)) for item in items]
