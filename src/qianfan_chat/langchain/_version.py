"""Which Qianfan API a :class:`~qianfan_chat.langchain.QianfanChatEndpoint` speaks, when its
``api_version`` is not set: the same choice the client makes (``ChatCompletion(version=None)``),
from the same credentials.

* ``"v2"`` when the key is a v2 API key: ``api_key`` (the ``qianfan_ak`` field) starting with
  ``bce-v3/`` (``protocol-v2.md``: keys look like ``bce-v3/ALTAK-<id>/<40 hex>``), or
  ``QIANFAN_API_KEY`` / ``QIANFAN_BEARER_TOKEN`` set while there are no other credentials: no
  v1 credentials (an App AK/SK pair, given or in ``QIANFAN_AK`` / ``QIANFAN_SK``, or an access
  token) and none given as arguments (the client reads no credential from the environment
  when one is given: arguments win as a whole);
* ``"v1"`` otherwise (the official SDK's default; IAM keys alone work for both and keep v1).

The environment is read when the model is made, as ``QIANFAN_AK`` / ``QIANFAN_SK`` are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

V2_KEY_PREFIX = "bce-v3/"

ApiVersion = Literal["v1", "v2"]


@dataclass(frozen=True, slots=True)
class Environment:
    """The credentials in the environment that decide the API version, read when a model is
    made (as ``QIANFAN_AK``/``QIANFAN_SK`` are, and as the client reads them)."""

    v2_key: bool  # QIANFAN_API_KEY or QIANFAN_BEARER_TOKEN
    access_token: bool  # QIANFAN_ACCESS_TOKEN (v1)

    @classmethod
    def read(cls) -> Environment:
        env = os.environ
        return cls(
            v2_key=bool(env.get("QIANFAN_API_KEY") or env.get("QIANFAN_BEARER_TOKEN")),
            access_token=bool(env.get("QIANFAN_ACCESS_TOKEN")),
        )


def auto_api_version(
    api_key: str | None,
    *,
    other_credentials: bool,
    env_v2_key: bool,
) -> ApiVersion:
    """The API version when ``api_version`` is not set: ``"v2"`` when ``api_key`` is a v2 key
    (starts with ``bce-v3/``), or when ``QIANFAN_API_KEY`` / ``QIANFAN_BEARER_TOKEN`` is set
    (``env_v2_key``) and there are no ``other_credentials`` (v1 credentials, or any credential
    given as an argument); else ``"v1"``.

    >>> auto_api_version("bce-v3/ALTAK-x/y", other_credentials=False, env_v2_key=False)
    'v2'
    """
    if api_key and api_key.startswith(V2_KEY_PREFIX):
        return "v2"
    return "v2" if env_v2_key and not other_credentials else "v1"
