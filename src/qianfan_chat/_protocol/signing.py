"""Baidu AI Cloud ``bce-auth-v1`` request signing and verification (standard library only).

The client signs IAM / management calls (and v1 chat calls made with AK/SK) this way, and the local
test server verifies the same signatures, so both sides share one implementation.

Spec: Baidu AI Cloud "Generate Authentication String" (bce-auth-v1),
https://cloud.baidu.com/doc/Reference/s/njwvz1yfu -- the steps below are numbered as in the brief:
timestamp, authStringPrefix, signingKey, canonicalRequest, signature, Authorization header.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal, TypeAlias
from urllib.parse import parse_qsl, quote, unquote, urlsplit

AUTH_VERSION = "bce-auth-v1"
#: Headers signed when the signedHeaders field is empty (spec: "default set"), plus any ``x-bce-*``.
DEFAULT_SIGNED_HEADERS = frozenset({"host", "content-length", "content-type", "content-md5"})
#: Spec: a request whose timestamp lies further in the future than this is rejected.
MAX_CLOCK_SKEW = timedelta(minutes=15)

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{64}")
_UTC = timezone.utc
_DEFAULT_PORTS = {"http": 80, "https": 443}

QueryArg: TypeAlias = Mapping[str, str | None] | Sequence[tuple[str, str | None]] | None
Reason = Literal[
    "InvalidHTTPAuthHeader", "InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestExpired"
]


class SignatureError(ValueError):
    """A request failed bce-auth-v1 verification; ``reason`` is Baidu's error code for it."""

    def __init__(self, reason: Reason, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class ParsedAuthorization:
    """The six ``/``-separated fields of an ``Authorization`` header (spec step 7)."""

    access_key: str
    timestamp: str
    expiration: int
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def prefix(self) -> str:
        """authStringPrefix (spec step 2): the HMAC message that derives the signing key."""
        return f"{AUTH_VERSION}/{self.access_key}/{self.timestamp}/{self.expiration}"


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 encoding as the spec demands: only ``A-Za-z0-9-._~`` survive, UTF-8 bytes become
    upper-case ``%XX`` (so space is ``%20``, never ``+``); ``/`` is kept only in the URI path."""
    return quote(value, safe="/" if keep_slash else "", encoding="utf-8", errors="strict")


def format_timestamp(when: datetime | None = None) -> str:
    """Spec step 1: UTC ``yyyy-mm-ddThh:mm:ssZ``. Naive datetimes are taken to be UTC already."""
    when = _as_utc(when)
    return when.strftime(_TIMESTAMP_FORMAT)


def _as_utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(_UTC)
    return when.replace(tzinfo=_UTC) if when.tzinfo is None else when.astimezone(_UTC)


def _query_items(query: QueryArg) -> Iterable[tuple[str, str | None]]:
    return query.items() if isinstance(query, Mapping) else (query or ())


def _canonical_query(query: QueryArg) -> str:
    """Spec step 4: every parameter but ``authorization``, ``enc(k)=enc(v)``, byte-sorted."""
    pairs = [
        f"{uri_encode(key)}={uri_encode(value or '')}"
        for key, value in _query_items(query)
        if key.lower() != "authorization"
    ]
    # Encoded text is pure ASCII, so code-point order is byte order.
    return "&".join(sorted(pairs))


def _normalise_names(names: Iterable[str]) -> list[str]:
    """Lower-case, trimmed, de-duplicated, sorted: the form written into signedHeaders."""
    return sorted({name.strip().lower() for name in names if name.strip()})


def _canonical_headers(headers: Mapping[str, str], signed_headers: Sequence[str] | None) -> str:
    lowered = {name.strip().lower(): value for name, value in headers.items()}
    if signed_headers:
        wanted = set(_normalise_names(signed_headers))
    else:  # Spec step 5: empty field = host, content-*, x-bce-*.
        wanted = {n for n in lowered if n in DEFAULT_SIGNED_HEADERS or n.startswith("x-bce-")}
    lines = []
    for name in wanted:
        value = lowered.get(name, "").strip()
        if value:  # Spec: headers with empty values are not part of the canonical headers.
            lines.append(f"{uri_encode(name)}:{uri_encode(value)}")
    return "\n".join(sorted(lines))


def canonical_request(
    method: str,
    path: str,
    query: QueryArg,
    headers: Mapping[str, str],
    signed_headers: Sequence[str] | None,
) -> str:
    """Spec step 4: ``METHOD\\nURI\\nQUERY\\nHEADERS`` (no body hash, no trailing newline).

    ``path`` is the raw, *unencoded* path; ``signed_headers`` None/empty selects the default set.
    """
    uri = uri_encode(path if path.startswith("/") else "/" + path, keep_slash=True)
    query_line = _canonical_query(query)
    return f"{method.upper()}\n{uri}\n{query_line}\n{_canonical_headers(headers, signed_headers)}"


def signing_key(secret_key: str, prefix: str) -> str:
    """Spec step 3: lower-case hex HMAC-SHA256 of the prefix keyed with the secret key."""
    return hmac.new(secret_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()


def _signature(secret_key: str, prefix: str, request: str) -> str:
    # Spec step 6: the key is the signing key's 64-character *hex text*, not its raw bytes.
    key = signing_key(secret_key, prefix).encode()
    return hmac.new(key, request.encode(), hashlib.sha256).hexdigest()


def sign(
    *,
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    query: QueryArg,
    headers: Mapping[str, str],
    timestamp: str | None = None,
    expiration: int = 1800,
    signed_headers: Sequence[str] | None = ("host", "x-bce-date"),
) -> str:
    """Return the ``Authorization`` value (spec step 7) for a request.

    ``signed_headers`` None/empty signs the default set and leaves the field empty; an explicit
    list must contain ``host`` (spec step 5) and is written sorted, lower-case, ``;``-joined. The
    caller must send ``x-bce-date`` equal to ``timestamp`` if it signs that header.
    """
    names = _normalise_names(signed_headers or ())
    if names and "host" not in names:
        raise ValueError("an explicit signed-header list must include 'host'")
    if timestamp is None:
        timestamp = format_timestamp()
    prefix = f"{AUTH_VERSION}/{access_key}/{timestamp}/{expiration}"
    request = canonical_request(method, path, query, headers, names)
    return f"{prefix}/{';'.join(names)}/{_signature(secret_key, prefix, request)}"


def sign_request_headers(
    *,
    access_key: str,
    secret_key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    expiration: int = 1800,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers an HTTP client must add to send ``url`` signed: ``x-bce-date`` and ``Authorization``.

    The path and query are percent-decoded (``+`` in the query is a space, as form decoding reads
    it) before canonicalising, since the spec encodes the raw values. ``host`` comes from a
    ``Host`` header if given, else from the URL (with the port unless it is the scheme's default),
    matching what httpx sends. Signs ``host;x-bce-date`` plus ``content-type`` when present.
    """
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if ":" in hostname:  # IPv6 literal: the Host header keeps the brackets.
        hostname = f"[{hostname}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        hostname = f"{hostname}:{port}"
    timestamp = format_timestamp(now)
    to_sign = {name.strip().lower(): value for name, value in headers.items()}
    to_sign.setdefault("host", hostname)
    to_sign["x-bce-date"] = timestamp
    names = ["host", "x-bce-date"]
    if to_sign.get("content-type", "").strip():
        names.append("content-type")
    authorization = sign(
        access_key=access_key,
        secret_key=secret_key,
        method=method,
        path=unquote(parts.path) or "/",
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=to_sign,
        timestamp=timestamp,
        expiration=expiration,
        signed_headers=names,
    )
    return {"x-bce-date": timestamp, "Authorization": authorization}


def parse_authorization(value: str) -> ParsedAuthorization:
    """Split and validate an ``Authorization`` value (spec step 7).

    Header names and hex digits are accepted in any case (a tolerant server); a list without
    ``host`` is refused, since spec step 5 requires it. Raises ``InvalidHTTPAuthHeader``.
    """
    fields = value.strip().split("/")
    if len(fields) != 6 or fields[0] != AUTH_VERSION:
        raise SignatureError("InvalidHTTPAuthHeader", "not a bce-auth-v1 authorization string")
    _, access_key, timestamp, expiration, headers_field, signature = fields
    if not access_key:
        raise SignatureError("InvalidHTTPAuthHeader", "empty access key")
    _parse_timestamp(timestamp)
    if not (expiration.isascii() and expiration.isdigit()) or int(expiration) <= 0:
        raise SignatureError("InvalidHTTPAuthHeader", f"bad expiration {expiration!r}")
    names = tuple(n.strip().lower() for n in headers_field.split(";")) if headers_field else ()
    if not all(names):
        raise SignatureError("InvalidHTTPAuthHeader", f"bad signed headers {headers_field!r}")
    if names and "host" not in names:
        raise SignatureError("InvalidHTTPAuthHeader", "signed headers must include host")
    if not _SIGNATURE_RE.fullmatch(signature):
        raise SignatureError("InvalidHTTPAuthHeader", "signature is not 64 hex digits")
    return ParsedAuthorization(access_key, timestamp, int(expiration), names, signature.lower())


def _parse_timestamp(timestamp: str) -> datetime:
    try:
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            raise ValueError(timestamp)
        return datetime.strptime(timestamp, _TIMESTAMP_FORMAT).replace(tzinfo=_UTC)
    except ValueError:
        raise SignatureError("InvalidHTTPAuthHeader", f"bad timestamp {timestamp!r}") from None


def verify(
    *,
    authorization: str,
    method: str,
    path: str,
    query: QueryArg,
    headers: Mapping[str, str],
    secret_keys: Mapping[str, str],
    now: datetime | None = None,
    check_expiry: bool = True,
) -> str:
    """Server side of the spec: recompute the signature and return the caller's access key.

    The signed-header list is used as given (canonical headers are sorted, so its order does not
    matter); header names are matched case-insensitively. The signature is checked before the
    clock so unauthenticated callers learn nothing about it. Raises :class:`SignatureError`.
    """
    parsed = parse_authorization(authorization)
    secret_key = secret_keys.get(parsed.access_key)
    if secret_key is None:
        raise SignatureError("InvalidAccessKeyId", f"unknown access key {parsed.access_key!r}")
    request = canonical_request(method, path, query, headers, parsed.signed_headers)
    expected = _signature(secret_key, parsed.prefix, request)
    if not hmac.compare_digest(expected, parsed.signature):
        raise SignatureError("SignatureDoesNotMatch", "signature does not match")
    if check_expiry:
        signed_at = _parse_timestamp(parsed.timestamp)
        current = _as_utc(now)
        if signed_at + timedelta(seconds=parsed.expiration) < current:
            raise SignatureError("RequestExpired", f"request expired, signed {parsed.timestamp}")
        if signed_at - current > MAX_CLOCK_SKEW:
            raise SignatureError("RequestExpired", f"timestamp {parsed.timestamp} is in the future")
    return parsed.access_key
