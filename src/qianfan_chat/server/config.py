"""The local server's configuration: one dataclass, loadable from a JSON or TOML file.

Every field has a default that gives a working server: open OAuth mode (any non-empty API key
/ secret key pair gets a token), open v2 mode (any non-empty bearer key but a v1 access token),
no IAM keys, no rules (the engine's defaults answer), no faults, no rate limits, seed 0.

A config file is a JSON object or a TOML table with the field names below, e.g.::

    ak_sk = { my-ak = "my-sk" }
    custom_endpoints = ["my_service"]
    rpm = 60

    [[rules]]
    contains = "weather"
    text = "Sunny."

TOML needs Python 3.11+ (``tomllib``); on 3.10 use JSON.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .._protocol import batches, wire
from .engine import Rule, as_rule
from .faults import Fault, as_fault
from .ratelimit import RateLimits
from .values import is_int

DEFAULT_API_PREFIX = wire.V1_API_PREFIX
# protocol-v2.md: the OpenAI base URL is https://qianfan.baidubce.com/v2
DEFAULT_V2_PREFIX = wire.V2_PREFIX
DEFAULT_TOKEN_LIFETIME = wire.OAUTH_LIFETIME  # 30 days, what Baidu's OAuth answers.
# A v2 request may carry images of up to 10 MB each as base64 data URLs (4/3 of their size):
# 32 MiB takes two of them with room for the text, and still bounds a runaway client.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# Slowloris bounds: a request line and headers must arrive within this many seconds of the
# connection opening (or of the previous response), a body within this many of its first part.
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
ADMIN_TOKEN_HEADER = "X-Qianfan-Admin-Token"
DEFAULT_BATCH_HOUR_SECONDS = 3600.0


@dataclass(frozen=True)
class ServerConfig:
    """Start-up settings of a local Qianfan server (all optional).

    * ``ak_sk``: OAuth API key -> secret key pairs; empty means open mode.
    * ``iam_keys``: IAM access key -> secret key pairs accepted for ``bce-auth-v1`` signatures.
      There is no open mode for IAM: a signature cannot be checked without the secret key.
    * ``access_tokens``: ready tokens (``QIANFAN_ACCESS_TOKEN``) accepted forever.
    * ``v2_prefix``: where the v2 API lives (``{v2_prefix}/chat/completions``).
    * ``api_keys``: v2 API keys accepted as ``Authorization: Bearer``; empty means open mode
      (any non-empty key but a v1 access token). Keys minted by ``/v1/BCE-BEARER/token`` are
      accepted in both modes until they expire.
    * ``app_ids``: v2 application ids accepted in the ``appid`` header (empty: any); a
      request without the header is accepted either way.
    * ``custom_endpoints``: custom endpoint names served at ``{api_prefix}/chat/{name}``,
      and v2 model ids (a deployed service's API name).
    * ``rules`` / ``rules_file``: scripted replies (TEST DATA), file rules first.
    * ``faults``, ``seed``: injected faults and the seed of their random draws.
    * ``qps`` / ``rpm`` / ``tpm``: per-key rate limits (None: unlimited).
    * ``admin``: serve ``/_admin/*``; ``admin_token``: required in ``X-Qianfan-Admin-Token`` on
      every admin call when set, and needed to bind a non-loopback ``host`` with admin on.
    * ``log_secrets``: show tokens, keys and signatures in the request log (masked otherwise).
    * ``header_timeout`` / ``body_timeout``: seconds a connection may take to send its headers
      / its body before it is closed (slowloris).
    * ``stream_chunk_chars``: longest stream piece; ``stream_interval``: seconds between
      events; ``stream_end_empty``: send the text first and a final ``is_end`` event with
      an empty ``result`` (as some real streams do). v2 streams always end with an
      empty-``delta`` chunk carrying the ``finish_reason`` (then usage, then ``[DONE]``).
    * ``batch_line_seconds``: seconds a batch job waits after each line (default 0: as fast
      as the engine answers); ``batch_hour_seconds``: how long one hour of a batch's
      ``completion_window`` lasts (default 3600); ``batch_max_file_bytes``: the largest
      upload to ``/v2/files`` (default 1 GB, Qianfan's limit).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_prefix: str = DEFAULT_API_PREFIX
    v2_prefix: str = DEFAULT_V2_PREFIX
    ak_sk: Mapping[str, str] = field(default_factory=dict)
    iam_keys: Mapping[str, str] = field(default_factory=dict)
    access_tokens: Sequence[str] = ()
    api_keys: Sequence[str] = ()
    app_ids: Sequence[str] = ()
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    iam_check_expiry: bool = True
    custom_endpoints: Sequence[str] = ()
    rules: Sequence[Rule] = ()
    rules_file: str | None = None
    faults: Sequence[Fault] = ()
    seed: int = 0
    qps: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    stream_chunk_chars: int = 32
    stream_interval: float = 0.0
    stream_end_empty: bool = False
    log_size: int = 10_000
    batch_line_seconds: float = 0.0
    batch_hour_seconds: float = DEFAULT_BATCH_HOUR_SECONDS
    batch_max_file_bytes: int = batches.MAX_FILE_BYTES
    log_body_chars: int = 65_536
    admin: bool = True
    admin_token: str | None = None
    log_secrets: bool = False
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "ak_sk", dict(_str_map(self.ak_sk, "ak_sk")))
        set_(self, "iam_keys", dict(_str_map(self.iam_keys, "iam_keys")))
        set_(self, "access_tokens", tuple(_strs(self.access_tokens, "access_tokens")))
        set_(self, "api_keys", tuple(_strs(self.api_keys, "api_keys")))
        set_(self, "app_ids", tuple(_strs(self.app_ids, "app_ids")))
        if not all(k.strip() for k in (*self.api_keys, *self.app_ids)):
            raise ValueError("api_keys and app_ids must not contain blank strings")
        set_(self, "custom_endpoints", tuple(_strs(self.custom_endpoints, "custom_endpoints")))
        set_(self, "rules", tuple(as_rule(r) for r in self.rules))
        set_(self, "faults", tuple(as_fault(f) for f in self.faults))
        prefix = "/" + self.api_prefix.strip("/") if self.api_prefix.strip("/") else ""
        set_(self, "api_prefix", prefix)
        if not isinstance(self.v2_prefix, str):
            raise ValueError("v2_prefix must be a string")
        v2_prefix = "/" + self.v2_prefix.strip("/") if self.v2_prefix.strip("/") else ""
        set_(self, "v2_prefix", v2_prefix)
        for name in ("port", "seed", "max_body_bytes", "stream_chunk_chars", "log_size"):
            value = getattr(self, name)
            if not is_int(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be in 0..65535")
        if not isinstance(self.token_lifetime, int | float) or self.token_lifetime <= 0:
            raise ValueError("token_lifetime must be a positive number of seconds")
        RateLimits(self.qps, self.rpm, self.tpm)  # Validates.
        for name in ("header_timeout", "body_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.admin_token is not None and (
            not isinstance(self.admin_token, str)
            or not self.admin_token.strip()
            or not self.admin_token.isascii()
            or not self.admin_token.isprintable()
        ):
            raise ValueError("admin_token must be a non-blank printable ASCII string")
        from .batches import BatchPace

        BatchPace(self.batch_line_seconds, self.batch_hour_seconds)  # Validates.
        if not is_int(self.batch_max_file_bytes) or self.batch_max_file_bytes < 1:
            raise ValueError("batch_max_file_bytes must be a positive integer")

    @property
    def rate_limits(self) -> RateLimits:
        return RateLimits(self.qps, self.rpm, self.tpm)

    @property
    def loopback(self) -> bool:
        """Whether ``host`` is a loopback address (only this machine can connect)."""
        return is_loopback(self.host)

    def check_bind(self) -> None:
        """Refuse a configuration that would open the admin routes to the network: a
        non-loopback ``host`` needs ``admin_token`` (sent as ``X-Qianfan-Admin-Token``) or
        ``admin=False``. Called before binding, by ``LocalServer.start`` and ``serve``."""
        if self.admin and not self.loopback and not self.admin_token:
            raise ValueError(
                f"binding {self.host!r} (not loopback) would let anyone on the network script "
                "this server through /_admin: set admin_token (--admin-token) or admin=False "
                "(--no-admin)"
            )

    @property
    def open_mode(self) -> bool:
        """True when any non-empty API key / secret key pair gets a token."""
        return not self.ak_sk

    @property
    def v2_open_mode(self) -> bool:
        """True when any non-empty v2 bearer key (but a v1 access token) is accepted."""
        return not self.api_keys

    def with_overrides(self, **overrides: Any) -> ServerConfig:
        """A copy with some fields changed (unknown names raise TypeError)."""
        return replace(self, **overrides) if overrides else self

    def all_rules(self) -> list[Rule]:
        """The start-up rules: the rules file's first, then ``rules``."""
        loaded = load_rules(self.rules_file) if self.rules_file else []
        return [*loaded, *self.rules]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], **overrides: Any) -> ServerConfig:
        """A config from parsed JSON/TOML data; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ValueError("a config must be an object / table")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**{**dict(data), **overrides})

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> ServerConfig:
        """Load a ``.json`` or ``.toml`` config file; ``rules_file`` is relative to it."""
        path = Path(path)
        data = dict(_load(path))
        rules_file = data.get("rules_file")
        if isinstance(rules_file, str) and not Path(rules_file).is_absolute():
            data["rules_file"] = str(path.parent / rules_file)
        return cls.from_mapping(data, **overrides)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _str_map(value: Any, name: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name} must map strings to strings")
    return value


def _strs(value: Any, name: str) -> Sequence[str]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return list(value)


def _load(path: Path) -> Any:
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".toml":
        if sys.version_info < (3, 11):
            raise ValueError(f"{path}: TOML needs Python 3.11+; use a JSON file")
        tomllib = importlib.import_module("tomllib")
        return tomllib.loads(text)
    return json.loads(text)


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a JSON file (a list, or an object with ``rules``) or a TOML file
    (``[[rules]]`` tables)."""
    data = _load(Path(path))
    if isinstance(data, Mapping):
        data = data.get("rules", [])
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of rules")
    return [Rule.from_dict(item) for item in data]
