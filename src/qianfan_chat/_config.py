"""Client settings from arguments and ``QIANFAN_*`` environment variables, resolved once
into a frozen :class:`Settings` that ``ChatCompletion`` and ``QianfanChatEndpoint`` share.

Variables are read when a client is made, never frozen at import. Names follow Baidu's
official SDK so existing set-ups keep working; the README's table lists every one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ._errors import InvalidRequestError
from ._protocol import wire

DEFAULT_RETRY_COUNT = 1  # seed document 001: retry_count, default 1
DEFAULT_REQUEST_TIMEOUT = 60.0  # seed document 001: request_timeout, default 60 s
DEFAULT_BACKOFF_FACTOR = 0.0  # seed document 001: backoff_factor, default 0

AuthMode = Literal["oauth", "token", "iam", "bearer"]
ApiVersion = Literal[1, 2]


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
        for credentials (mixing an argument token with an environment AK/SK would surprise).

        A v2 API key (``bce-v3/...``) given as the App API key (``ak`` or ``QIANFAN_AK``) is
        taken as the v2 API key it is, unless an API key is given too."""
        if not any((ak, sk, access_token, access_key, secret_key, api_key)):
            env = os.environ if environ is None else environ
            ak, sk = env.get("QIANFAN_AK"), env.get("QIANFAN_SK")
            access_token = env.get("QIANFAN_ACCESS_TOKEN")
            access_key, secret_key = env.get("QIANFAN_ACCESS_KEY"), env.get("QIANFAN_SECRET_KEY")
            api_key = env.get("QIANFAN_API_KEY") or env.get("QIANFAN_BEARER_TOKEN")
        if wire.is_v2_key(ak) and not api_key:
            ak, api_key = None, ak
        values = (ak, sk, access_token, access_key, secret_key, api_key)
        return cls(*(_secret(v) for v in values))


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
        raise InvalidRequestError(name, f"must be a number, got {raw!r}") from None


def _version(version: int | str | None, creds: Credentials) -> ApiVersion:
    if version is None:
        # A v2 API key alone means a v2 account; anything v1 can use keeps v1 (the SDK default).
        return 2 if creds.api_key and not creds.has_v1 else 1
    text = str(version).lower().lstrip("v")
    if text == "1":
        return 1
    if text == "2":
        return 2
    raise InvalidRequestError("version", f"must be 1 or 2, got {version!r}")


def check_call_options(retry_count: int, timeout: float, backoff: float) -> None:
    """The rules for the retry and timeout settings, at construction and per call."""
    if retry_count < 0:
        raise InvalidRequestError("retry_count", f"must be >= 0, got {retry_count}")
    if not timeout > 0:
        raise InvalidRequestError("request_timeout", f"must be > 0 seconds, got {timeout}")
    if backoff < 0:
        raise InvalidRequestError("backoff_factor", f"must be >= 0, got {backoff}")


def check_credentials(creds: Credentials, appid: str | None) -> None:
    """Every credential and the ``appid`` go into a URL query or an HTTP header, so each must be
    printable ASCII with no whitespace: a key with a space or a newline in it partly leaked into
    exception text and httpcore's DEBUG log (``Bearer *** more\\nSECRET2``), and a non-ASCII one
    escaped as UnicodeEncodeError. :class:`InvalidRequestError` names the field, never the
    value, before anything is sent."""
    values = [(name, getattr(creds, name)) for name in _CREDENTIAL_FIELDS]
    for name, secret in values:
        if secret is not None and not _is_token(secret.get()):
            raise InvalidRequestError(
                name, "must be printable ASCII without spaces or control characters"
            )
    if appid is not None and not _is_token(appid):
        raise InvalidRequestError(
            "appid", "must be printable ASCII without spaces or control characters"
        )


_CREDENTIAL_FIELDS = ("ak", "sk", "access_token", "access_key", "secret_key", "api_key")


def _is_token(value: str) -> bool:
    # isprintable() is False for control characters; " " is printable, so it is checked too.
    return value.isascii() and value.isprintable() and " " not in value


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a client is configured with, resolved once from arguments, then the
    ``QIANFAN_*`` environment, then the defaults; frozen, so nothing can change half of it.

    ``ChatCompletion`` and ``QianfanChatEndpoint`` both build theirs with :meth:`resolve`::

        settings = Settings.resolve(api_key="bce-v3/ALTAK-...", retry_count=3)
        settings.version        # 2: a v2 API key alone means the v2 API
        chat = ChatCompletion(settings=settings)
    """

    credentials: Credentials
    version: ApiVersion
    base_url: str  # no trailing slash; for v2 without the OpenAI-style "/v2"
    iam_base_url: str  # v2: where keys are minted from IAM keys
    api_prefix: str  # v1: the chat API's path prefix, one leading slash
    appid: str | None  # v2: the application id header
    retry_count: int
    request_timeout: float
    backoff_factor: float

    @staticmethod
    def environment() -> dict[str, str]:
        """Every ``QIANFAN_*`` value in effect now, first found wins: set in this process
        (``qianfan_chat.AK(...)``, ``get_config().X = ...``), the environment, ``./.env`` (or
        the file ``QIANFAN_DOT_ENV_CONFIG_FILE`` names)."""
        from ._sdk import environment

        return environment()

    @property
    def auth_mode(self) -> AuthMode | None:
        """How calls are authorized (None: no usable credentials for this version)."""
        return self.credentials.mode_for(self.version)

    def __repr__(self) -> str:
        return (
            f"Settings(version={self.version}, base_url={self.base_url!r}, "
            f"auth={self.auth_mode!r}, credentials={self.credentials!r}, "
            f"retry_count={self.retry_count}, request_timeout={self.request_timeout:g}, "
            f"backoff_factor={self.backoff_factor:g})"
        )

    @classmethod
    def version_of(
        cls,
        *,
        version: int | str | None = None,
        environ: Mapping[str, str] | None = None,
        **credentials: str | None,
    ) -> ApiVersion:
        """The version :meth:`resolve` chooses for these credentials (its ``ak``, ``sk``,
        ``access_token``, ``access_key``, ``secret_key``, ``api_key``), from them alone: the
        other settings are neither read nor checked. Raises :class:`InvalidRequestError` for
        a bad version only."""
        env = cls.environment() if environ is None else environ
        return _version(version, Credentials.resolve(**credentials, environ=env))

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
        version: int | str | None = None,
        appid: str | None = None,
        base_url: str | None = None,
        iam_base_url: str | None = None,
        api_prefix: str | None = None,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        backoff_factor: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve every setting. ``environ`` defaults to :meth:`environment`, read now: the
        ``QIANFAN_*`` values set with ``qianfan_chat.AK()`` / ``get_config()``, else the
        process environment, else a ``.env`` file.

        The version, unset: 2 when the only credential is a v2 API key, else 1. Raises
        :class:`InvalidRequestError` for a bad version, retry or timeout setting."""
        env = cls.environment() if environ is None else environ
        creds = Credentials.resolve(
            ak=ak,
            sk=sk,
            access_token=access_token,
            access_key=access_key,
            secret_key=secret_key,
            api_key=api_key,
            environ=env,
        )
        resolved = _version(version, creds)
        if resolved == 2:
            default_base = env_str("QIANFAN_CONSOLE_API_BASE_URL", wire.V2_BASE_URL, env)
            base = wire.strip_v2_suffix(base_url or default_base)
        else:
            base = (base_url or env_str("QIANFAN_BASE_URL", wire.V1_BASE_URL, env)).rstrip("/")
        iam = iam_base_url or env_str("QIANFAN_IAM_BASE_URL", wire.IAM_BASE_URL, env)
        prefix = api_prefix or env_str("QIANFAN_MODEL_API_PREFIX", wire.V1_API_PREFIX, env)
        retries = int(
            retry_count
            if retry_count is not None
            else env_float("QIANFAN_LLM_API_RETRY_COUNT", DEFAULT_RETRY_COUNT, env)
        )
        timeout = float(
            request_timeout
            if request_timeout is not None
            else env_float("QIANFAN_LLM_API_RETRY_TIMEOUT", DEFAULT_REQUEST_TIMEOUT, env)
        )
        backoff = float(
            backoff_factor
            if backoff_factor is not None
            else env_float("QIANFAN_LLM_API_RETRY_BACKOFF_FACTOR", DEFAULT_BACKOFF_FACTOR, env)
        )
        check_call_options(retries, timeout, backoff)
        resolved_appid = appid or env_str("QIANFAN_APP_ID", "", env) or None
        check_credentials(creds, resolved_appid)
        return cls(
            credentials=creds,
            version=resolved,
            base_url=base,
            iam_base_url=iam.rstrip("/"),
            api_prefix="/" + prefix.strip("/"),
            appid=resolved_appid,
            retry_count=retries,
            request_timeout=timeout,
            backoff_factor=backoff,
        )
