"""Client settings from arguments and ``QIANFAN_*`` environment variables.

Variables are read when a client is made, never frozen at import. Names follow Baidu's
official SDK so existing set-ups keep working; the README's table lists every one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_BASE_URL = "https://aip.baidubce.com"
DEFAULT_API_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop"
DEFAULT_RETRY_COUNT = 1  # seed document 001: retry_count, default 1
DEFAULT_REQUEST_TIMEOUT = 60.0  # seed document 001: request_timeout, default 60 s
DEFAULT_BACKOFF_FACTOR = 0.0  # seed document 001: backoff_factor, default 0

AuthMode = Literal["oauth", "token", "iam", "bearer"]

ENV_VARS: Mapping[str, str] = {
    "QIANFAN_AK": "App API Key, exchanged for an OAuth access token",
    "QIANFAN_SK": "App Secret Key, with QIANFAN_AK",
    "QIANFAN_ACCESS_TOKEN": "a ready access token, used as is",
    "QIANFAN_ACCESS_KEY": (
        "IAM Access Key: v1 requests are signed with bce-auth-v1; v2 mints short-term keys"
    ),
    "QIANFAN_SECRET_KEY": "IAM Secret Key, with QIANFAN_ACCESS_KEY",
    "QIANFAN_API_KEY": "v2 API key (bce-v3/ALTAK-...), sent as a Bearer token",
    "QIANFAN_BEARER_TOKEN": (
        "the official SDK's name for the v2 API key (read if QIANFAN_API_KEY is not set)"
    ),
    "QIANFAN_APP_ID": "v2 application id, sent as the appid header",
    "QIANFAN_BASE_URL": f"API base URL (default {DEFAULT_BASE_URL})",
    "QIANFAN_MODEL_API_PREFIX": f"path prefix of the chat API (default {DEFAULT_API_PREFIX})",
    "QIANFAN_CONSOLE_API_BASE_URL": "v2 API base URL (default https://qianfan.baidubce.com)",
    "QIANFAN_IAM_BASE_URL": (
        "IAM base URL for v2 short-term keys (default https://iam.bj.baidubce.com)"
    ),
    "QIANFAN_LLM_API_RETRY_COUNT": (
        f"retries after the first attempt (default {DEFAULT_RETRY_COUNT})"
    ),
    "QIANFAN_LLM_API_RETRY_TIMEOUT": (
        f"request timeout in seconds (default {DEFAULT_REQUEST_TIMEOUT:g})"
    ),
    "QIANFAN_LLM_API_RETRY_BACKOFF_FACTOR": (
        f"retry backoff factor (default {DEFAULT_BACKOFF_FACTOR:g})"
    ),
}


class Secret:
    """A credential that never shows itself in ``repr``/``str``; ``.get()`` reveals it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


@dataclass(frozen=True, repr=False)
class Credentials:
    """The credentials a client holds, with the auth mode they select."""

    ak: Secret | None = None
    sk: Secret | None = None
    access_token: Secret | None = None
    access_key: Secret | None = None
    secret_key: Secret | None = None
    api_key: Secret | None = None

    @property
    def mode(self) -> AuthMode | None:
        """The v1 auth mode."""
        return self.mode_for(1)

    @property
    def has_v1(self) -> bool:
        """Credentials only v1 can use (App AK/SK or an access token)."""
        return bool((self.ak and self.sk) or self.access_token)

    def mode_for(self, version: int) -> AuthMode | None:
        """v1 follows the official SDK's order: AK/SK (OAuth), a ready token, IAM keys.
        v2 takes an API key, else IAM keys (which mint short-term API keys)."""
        if version == 2:
            if self.api_key:
                return "bearer"
            if self.access_key and self.secret_key:
                return "iam"
            return None
        if self.ak and self.sk:
            return "oauth"
        if self.access_token:
            return "token"
        if self.access_key and self.secret_key:
            return "iam"
        return None

    def __repr__(self) -> str:
        names = ("ak", "sk", "access_token", "access_key", "secret_key", "api_key")
        given = [n for n in names if getattr(self, n)]
        return f"Credentials(given={given})"

    @classmethod
    def resolve(
        cls,
        *,
        ak: str | None = None,
        sk: str | None = None,
        access_token: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Credentials:
        """Arguments win as a whole: if any credential is passed, the environment is not read
        for credentials (mixing an argument token with an environment AK/SK would surprise)."""
        if any((ak, sk, access_token, access_key, secret_key, api_key)):
            values = (ak, sk, access_token, access_key, secret_key, api_key)
            return cls(*(_secret(v) for v in values))
        env = os.environ if environ is None else environ
        return cls(
            _secret(env.get("QIANFAN_AK")),
            _secret(env.get("QIANFAN_SK")),
            _secret(env.get("QIANFAN_ACCESS_TOKEN")),
            _secret(env.get("QIANFAN_ACCESS_KEY")),
            _secret(env.get("QIANFAN_SECRET_KEY")),
            _secret(env.get("QIANFAN_API_KEY") or env.get("QIANFAN_BEARER_TOKEN")),
        )


def env_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(name) or default


def env_float(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        from ._errors import InvalidRequestError

        raise InvalidRequestError(name, f"must be a number, got {raw!r}") from None
