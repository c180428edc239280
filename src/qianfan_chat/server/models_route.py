"""``GET {v2_prefix}/models`` on the local server: the model catalogue, served from the
capability table (:mod:`qianfan_chat._protocol.models_v2`) with the 2026 fields. TEST DATA:
the live catalogue changes monthly; this is the table the package ships.

======================================== ===================================================
``GET {v2}/models``                      ``{"object": "list", "data": [entry, ...]}``
``GET {v2}/models/{id}``                 one entry; an id the server does not serve: 404
======================================== ===================================================

An entry (``protocol-v2-extensions.md`` section 4): ``id``, ``object: "model"``, ``owned_by``,
``created``, ``type`` (``chat``, ``multimodal``), ``context_length``, ``max_tokens`` (answer
cap) and ``max_completions_tokens`` (sic: reasoning + answer) when the table knows them,
``input_modalities`` / ``output_modalities``, and ``pricing`` (``prompt`` / ``completion``,
strings, CNY per 1,000 tokens) when the table has a price. Each configured custom endpoint (a
deployed service) is listed too, with ``owned_by: "user"`` and only what is known of it.

Authorization is chat's (the bearer key and ``appid``: 401 ``invalid_iam_token`` /
``invalid_appid``); other methods answer 405. Faults and rate limits are not applied here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._protocol import wire
from .._protocol.models_v2 import DEFAULT_CONTEXT_TOKENS, V2_MODEL_SPECS, catalogue_entry
from .auth import bearer_key
from .files import send_v2_error
from .wire import Exchange

if TYPE_CHECKING:
    from .v2 import V2App

# A fixed date (2026-01-01 00:00 UTC) so the catalogue is the same on every run.
CREATED = 1_767_225_600
_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
NOT_FOUND_MODEL = ("not_found", "model not found")  # [unverified]: no documented answer


def models_path(v2_prefix: str) -> str:
    """The catalogue's path under a configured v2 prefix."""
    return v2_prefix + wire.V2_MODELS_PATH[len(wire.V2_PREFIX) :]


def catalogue(custom_endpoints: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """Every entry: the table's rows, then the custom endpoints it does not already name."""
    entries = [catalogue_entry(spec, created=CREATED) for spec in V2_MODEL_SPECS]
    known = {entry["id"] for entry in entries}
    for name in custom_endpoints:
        if name not in known:
            known.add(name)
            entries.append(
                {
                    "id": name,
                    "object": "model",
                    "owned_by": "user",
                    "created": CREATED,
                    "type": "chat",
                    "context_length": DEFAULT_CONTEXT_TOKENS,
                    "input_modalities": ["text"],
                    "output_modalities": ["text"],
                }
            )
    return entries


async def handle_models(app: V2App, ex: Exchange) -> bool:
    """Answer ``ex`` if its path is the catalogue's (or one entry's); False if not."""
    state = app.state
    prefix = models_path(state.config.v2_prefix)
    path = ex.path
    if path != prefix and not path.startswith(prefix + "/"):
        return False
    if not await app.authorize(ex, bearer_key(ex.header(_AUTHORIZATION))):
        return True
    if ex.method != "GET":
        await send_v2_error(ex, 405, "method_not_supported", "Only GET is supported")
        return True
    entries = catalogue(list(state.config.custom_endpoints))
    wanted = path[len(prefix) :].strip("/")
    if not wanted:
        await ex.send_json({"object": "list", "data": entries})
        return True
    for entry in entries:
        if entry["id"] == wanted:
            await ex.send_json(entry)
            return True
    await send_v2_error(ex, 404, *NOT_FOUND_MODEL)
    return True
