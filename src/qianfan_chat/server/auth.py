"""Who is calling: OAuth access tokens (issued, checked, expired), IAM signatures, and v2
bearer keys (configured, or minted from IAM keys by the BCE-BEARER route).

OAuth (protocol.md section 1): ``/oauth/2.0/token?grant_type=client_credentials&client_id=AK
&client_secret=SK`` issues a Baidu-looking token valid for the configured lifetime (monotonic
clock). In open mode (no pairs configured) any non-empty pair gets one; otherwise the pair must
match. IAM (section 3): an ``Authorization: bce-auth-v1/...`` header is accepted only when
:func:`qianfan_chat._protocol.signing.verify` succeeds for a configured access key. There is no
open mode for IAM, because a signature cannot be checked without the secret key.

v2 (protocol-v2.md): ``Authorization: Bearer <key>``. :class:`ApiKeyStore` holds the configured
keys (accepted forever; none configured is open mode: any non-empty key but a v1 access token)
and the short-term ``bce-v3/ALTAK-.../...`` keys minted by ``/v1/BCE-BEARER/token``, accepted in
either mode until the lifetime the caller asked for runs out (monotonic clock).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .._protocol import wire
from .._protocol.codes import TOKEN_EXPIRED, TOKEN_INVALID
from .._protocol.signing import SignatureError, verify

IAM_FAILED = 14
SCOPE = (
    "public brain_all_scope wenxinworkshop_mgr ai_custom_yiyan_com "
    "ai_custom_yiyan_com_eb_instant ai_custom_yiyan_com_bloomz7b1 ai_custom_yiyan_com_emb_text "
    "ai_custom_yiyan_com_llama2_7b wise_adapt lebo_resource_base lightservice_public "
    "hetu_basic lightcms_map_poi kaidian_kaidian oauth_tp_app smartapp_smart_game_openapi "
    "oauth_sessionkey smartapp_swanid_verify smartapp_opensource_openapi"
)
# Issued tokens and minted keys kept at most; past it the oldest issued are forgotten (a
# client holding one gets "token invalid" and fetches another, as after a real rotation).
MAX_ISSUED = 100_000
_FORGET_AFTER = 3600.0  # seconds an expired token is still told apart from an unknown one
# A v1 OAuth access token, as Baidu issues them (and TokenStore imitates).
V1_TOKEN_RE = re.compile(r"24\.[0-9a-f]{32}\.\d+\.\d+\.\d+-\d+")
_ALNUM = string.ascii_letters + string.digits
_BEARER = wire.BEARER_SCHEME.lower()  # The scheme is case-insensitive (RFC 7235).
_MINTED_PREFIX = wire.V2_KEY_PREFIX + wire.V2_KEY_ID_PREFIX  # bce-v3/ALTAK-


@dataclass(slots=True)
class _Token:
    key: str
    expires_at: float | None  # monotonic seconds; None never expires


class TokenStore:
    """Issued access tokens. Thread-safe; the clock is injectable for tests."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        # Issued tokens in issue order, which is expiry order (one lifetime): pruning looks at
        # the oldest only, so an issue costs O(1) however many tokens live.
        self._order: deque[str] = deque()

    def issue(self, key: str) -> dict[str, Any]:
        """A token for API key ``key``: the OAuth reply body (Baidu's field set)."""
        lifetime = int(self.lifetime) if float(self.lifetime).is_integer() else self.lifetime
        expiry = int(time.time() + self.lifetime)
        suffix = (
            f"{secrets.randbelow(900_000) + 100_000}-{secrets.randbelow(90_000_000) + 10_000_000}"
        )
        token = f"24.{secrets.token_hex(16)}.{lifetime}.{expiry}.{suffix}"
        with self._lock:
            _prune(self._tokens, self._order, self._clock())
            self._tokens[token] = _Token(key, self._clock() + self.lifetime)
            self._order.append(token)
        return {
            "refresh_token": f"25.{secrets.token_hex(16)}.315360000.{expiry + 315360000}.{suffix}",
            "expires_in": lifetime,
            "session_key": secrets.token_urlsafe(48),
            # OAuth names the token in its reply as the chat query does (RFC 6749 / 6750).
            wire.ACCESS_TOKEN_PARAM: token,
            "scope": SCOPE,
            "session_secret": secrets.token_hex(16),
        }

    def add_static(self, token: str, key: str | None = None) -> None:
        """Accept a ready-made token forever (rate limits count it as ``key``)."""
        with self._lock:
            self._tokens[token] = _Token(key or token, None)

    def check(self, token: str) -> tuple[str | None, int | None]:
        """``(key, None)`` for a live token, else ``(None, 110)`` unknown / ``(None, 111)``
        expired."""
        record = self._tokens.get(token)
        if record is None:
            return None, TOKEN_INVALID
        if record.expires_at is not None and self._clock() >= record.expires_at:
            return None, TOKEN_EXPIRED
        return record.key, None

    def known(self, token: str) -> bool:
        """Whether ``token`` was issued (or configured) here, live or expired."""
        return token in self._tokens

    def expire(self, token: str) -> bool:
        """Make ``token`` expired from now on; False if it is unknown."""
        with self._lock:
            record = self._tokens.get(token)
            if record is None:
                return False
            record.expires_at = self._clock()
            return True

    def __len__(self) -> int:
        return len(self._tokens)


def _prune(records: dict[str, Any], order: deque[str], now: float) -> None:
    """Forget the oldest issued records that expired over an hour ago, and the oldest beyond
    ``MAX_ISSUED``; amortised O(1) per issue (each record is appended and popped once)."""
    while order:
        record = records.get(order[0])
        if record is not None and len(order) < MAX_ISSUED:
            expires_at = record.expires_at
            if expires_at is None or expires_at >= now - _FORGET_AFTER:
                break
        records.pop(order.popleft(), None)


@dataclass(frozen=True)
class GrantError:
    """An OAuth refusal: HTTP status and Baidu's ``{"error", "error_description"}`` body."""

    status: int
    error: str
    description: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


UNSUPPORTED_GRANT = GrantError(
    400, "unsupported_grant_type", "The authorization grant type is not supported"
)
UNKNOWN_CLIENT = GrantError(401, "invalid_client", "unknown client id")
BAD_SECRET = GrantError(401, "invalid_client", "Client authentication failed")


def grant(params: Mapping[str, str], api_keys: Mapping[str, str]) -> str | GrantError:
    """The API key an OAuth request authenticates as, or why it is refused.

    Open mode (``api_keys`` empty): any non-empty client id and secret pass.
    """
    if params.get(wire.OAUTH_GRANT_PARAM) != wire.OAUTH_GRANT_TYPE:
        return UNSUPPORTED_GRANT
    client_id = params.get(wire.OAUTH_CLIENT_ID_PARAM, "")
    secret = params.get(wire.OAUTH_CLIENT_SECRET_PARAM, "")
    if not api_keys:
        return client_id if client_id and secret else UNKNOWN_CLIENT
    expected = api_keys.get(client_id)
    if expected is None:
        return UNKNOWN_CLIENT
    if not secrets.compare_digest(expected.encode(), secret.encode()):
        return BAD_SECRET
    return client_id


def check_signature(
    *,
    authorization: str,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    iam_keys: Mapping[str, str],
    check_expiry: bool = True,
) -> tuple[str | None, str | None]:
    """``(access key, None)`` if the bce-auth-v1 signature is good, else ``(None, reason)``.

    ``path`` is the request's percent-decoded path and ``query`` its decoded pairs, as the
    signer canonicalised them (protocol.md section 3).
    """
    if not iam_keys:
        return None, "InvalidAccessKeyId"
    try:
        key = verify(
            authorization=authorization,
            method=method,
            path=path,
            query=query,
            headers=headers,
            secret_keys=iam_keys,
            check_expiry=check_expiry,
        )
    except SignatureError as exc:
        return None, exc.reason
    return key, None


def bearer_key(authorization: str | None) -> str:
    """The key of an ``Authorization: Bearer <key>`` header ("" if absent or not Bearer)."""
    if not authorization:
        return ""
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == _BEARER else ""


def _utc_text(when: datetime) -> str:
    """BCE's time format: ``2024-11-28T06:09:57.000Z`` (UTC, milliseconds)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class _Minted:
    access_key: str
    expires_at: float  # monotonic seconds


KeyStatus = Literal["ok", "expired", "unknown"]


class ApiKeyStore:
    """v2 bearer keys: configured ones and short-term minted ones. Thread-safe; the clock is
    injectable for tests."""

    def __init__(self, keys: Iterable[str] = (), clock: Callable[[], float] = time.monotonic):
        self._keys = frozenset(keys)
        self._clock = clock
        self._lock = threading.Lock()
        self._minted: dict[str, _Minted] = {}
        self._order: deque[str] = deque()

    @property
    def open_mode(self) -> bool:
        return not self._keys

    def mint(self, access_key: str, lifetime: float) -> dict[str, str]:
        """A short-term key for IAM access key ``access_key``, valid ``lifetime`` seconds:
        the BCE-BEARER reply body (protocol-v2.md)."""
        ident = "".join(secrets.choice(_ALNUM) for _ in range(20))
        token = f"{_MINTED_PREFIX}{ident}/{secrets.token_hex(20)}"
        created = datetime.now(timezone.utc).replace(microsecond=0)
        with self._lock:
            # Lifetimes differ per call here, so issue order is only roughly expiry order: a
            # long-lived key at the front holds back pruning until it expires or the cap hits.
            _prune(self._minted, self._order, self._clock())
            self._minted[token] = _Minted(access_key, self._clock() + lifetime)
            self._order.append(token)
        return {
            "userId": hashlib.md5(access_key.encode(), usedforsecurity=False).hexdigest(),
            "token": token,
            "status": "enable",
            "createTime": _utc_text(created),
            "expireTime": _utc_text(created + timedelta(seconds=lifetime)),
        }

    def check(self, key: str) -> KeyStatus:
        """``ok`` for a configured key or a live minted one, ``expired`` for a minted key past
        its lifetime, ``unknown`` otherwise (the caller decides what open mode accepts)."""
        record = self._minted.get(key)
        if record is not None:
            return "ok" if self._clock() < record.expires_at else "expired"
        return "ok" if key in self._keys else "unknown"

    def is_minted(self, key: str) -> bool:
        return key in self._minted

    def expire(self, key: str) -> bool:
        """Make a minted key expired from now on; False if ``key`` was not minted here."""
        with self._lock:
            record = self._minted.get(key)
            if record is None:
                return False
            record.expires_at = self._clock()
            return True

    def __len__(self) -> int:
        return len(self._minted)
