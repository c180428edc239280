"""Baidu SDK's module-level configuration, for code that sets it up the SDK's way::

    import qianfan_chat as qianfan

    qianfan.AK("...")                    # or qianfan.get_config().AK = "..."
    qianfan.SK("...")
    qianfan.enable_log("DEBUG")

Where a setting comes from, first found wins: an argument to ``ChatCompletion`` (or
``QianfanChatEndpoint``), then a value set here (``AK()``, ``get_config().X = ...``), then the
``QIANFAN_*`` environment variable, then a ``.env`` file (``./.env``, or the file named by
``QIANFAN_DOT_ENV_CONFIG_FILE``; only its ``QIANFAN_*`` lines are read, as by the SDK).
:meth:`qianfan_chat.Settings.environment` is that merged view; clients read it when they are
made.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

PREFIX = "QIANFAN_"
DOT_ENV_VARIABLE = "QIANFAN_DOT_ENV_CONFIG_FILE"
DEFAULT_DOT_ENV = ".env"
# Names whose values are secrets: get_config()'s repr never shows them.
_SECRET_NAMES = frozenset(
    {"AK", "SK", "ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "API_KEY", "BEARER_TOKEN"}
)

_lock = threading.Lock()
_overrides: dict[str, str] = {}  # QIANFAN_X -> value, set through this module
_dot_env_cache: tuple[str, float, dict[str, str]] | None = None


def _dot_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``QIANFAN_*`` values of the ``.env`` file, re-read when the file changes."""
    global _dot_env_cache
    path = environ.get(DOT_ENV_VARIABLE) or DEFAULT_DOT_ENV
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    cached = _dot_env_cache
    if cached is not None and cached[0] == path and cached[1] == mtime:
        return cached[2]
    from dotenv import dotenv_values  # only when a .env file exists

    values = {
        key: value
        for key, value in dotenv_values(path).items()
        if key.startswith(PREFIX) and value is not None
    }
    _dot_env_cache = (path, mtime, values)
    return values


def environment() -> dict[str, str]:
    """Every ``QIANFAN_*`` value in effect: set here, else the environment, else ``.env``."""
    env = os.environ
    merged = dict(_dot_env(env))
    merged.update((k, v) for k, v in env.items() if k.startswith(PREFIX))
    with _lock:
        merged.update(_overrides)
    return merged


class Config:
    """The SDK's ``get_config()`` object: attributes named as the variables without
    ``QIANFAN_`` (``AK``, ``SK``, ``BASE_URL``, ``LLM_API_RETRY_COUNT``...). Reading one gives
    the value in effect; setting one overrides the environment for clients made afterwards;
    setting None removes the override."""

    def __getattr__(self, name: str) -> Any:
        if not name.isupper():
            raise AttributeError(name)
        return environment().get(PREFIX + name)

    def __setattr__(self, name: str, value: Any) -> None:
        with _lock:
            if value is None:
                _overrides.pop(PREFIX + name, None)
            else:
                _overrides[PREFIX + name] = str(value)

    def __repr__(self) -> str:
        shown = {
            k.removeprefix(PREFIX): ("***" if k.removeprefix(PREFIX) in _SECRET_NAMES else v)
            for k, v in sorted(environment().items())
        }
        return f"Config({shown})"


_CONFIG = Config()


def get_config() -> Config:
    """The process-wide configuration (the SDK's ``qianfan.get_config()``)."""
    return _CONFIG


def AK(ak: str) -> None:
    """Set the App API Key for clients made afterwards (``QIANFAN_AK``)."""
    _CONFIG.AK = ak


def SK(sk: str) -> None:
    """Set the App Secret Key (``QIANFAN_SK``)."""
    _CONFIG.SK = sk


def AccessKey(access_key: str) -> None:
    """Set the IAM Access Key (``QIANFAN_ACCESS_KEY``)."""
    _CONFIG.ACCESS_KEY = access_key


def SecretKey(secret_key: str) -> None:
    """Set the IAM Secret Key (``QIANFAN_SECRET_KEY``)."""
    _CONFIG.SECRET_KEY = secret_key


def AccessToken(access_token: str) -> None:
    """Set a ready access token (``QIANFAN_ACCESS_TOKEN``)."""
    _CONFIG.ACCESS_TOKEN = access_token


def enable_log(log_level: int | str = 20) -> None:
    """Log qianfan-chat's records at ``log_level`` (default ``logging.INFO``) and above to
    stderr (the SDK's ``enable_log``); secrets are redacted as in every record this library
    writes."""
    import logging  # on use: ``import qianfan_chat`` stays light

    logger = logging.getLogger("qianfan_chat")
    level = logging.getLevelName(log_level.upper()) if isinstance(log_level, str) else log_level
    if not isinstance(level, int):
        from ._errors import InvalidRequestError

        raise InvalidRequestError("log_level", f"must be a logging level, got {log_level!r}")
    logger.setLevel(level)
    if not any(getattr(h, "_qianfan_chat", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s] [%(asctime)s] %(message)s"))
        handler._qianfan_chat = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        from ._logging import install_redaction

        install_redaction()


def disable_log() -> None:
    """Stop logging below CRITICAL (the SDK's ``disable_log``)."""
    import logging

    logging.getLogger("qianfan_chat").setLevel(logging.CRITICAL)
