"""The live model catalogue (``GET /v2/models``), typed and cached per process, and the cost
of a reply's usage in CNY.

Facts: ``protocol-v2-extensions.md`` section 4 (an OpenAI model list; 2026 entries add
``type``, ``context_length``, ``max_tokens``, ``max_completions_tokens`` (sic) and
``pricing.prompt`` / ``pricing.completion``, strings in CNY per 1,000 tokens). The catalogue
changes monthly: nothing here refuses a model id, and the built-in table
(:mod:`._protocol.models_v2`) only fills in what the catalogue does not say.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ._errors import InvalidRequestError
from ._flow import CallSpec
from ._protocol import wire
from ._protocol.models_v2 import Pricing, family_hint
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._client import ChatCompletion
    from ._types import Usage

# How long a fetched catalogue is reused in this process, in seconds. The catalogue changes
# monthly; an hour keeps a long-running service current without a call per request.
CATALOGUE_TTL_SECONDS = 3600.0
_KNOWN = ("id", "object", "type", "context_length", "max_tokens", "max_completions_tokens",
          "pricing", "owned_by", "created")  # fmt: skip


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def parse_pricing(value: Any) -> Pricing | None:
    """``{"prompt": "0.004", "completion": "0.012"}`` (strings or numbers), else None."""
    if not isinstance(value, Mapping):
        return None
    prompt, completion = _decimal(value.get("prompt")), _decimal(value.get("completion"))
    return None if prompt is None or completion is None else Pricing(prompt, completion)


@dataclass(frozen=True)
class CatalogueModel:
    """One entry of ``GET /v2/models``. ``max_tokens`` caps the answer,
    ``max_completions_tokens`` (the wire's spelling) reasoning plus answer; ``pricing`` is in
    CNY per 1,000 tokens. Fields the service adds stay in ``extra``."""

    id: str
    object: str = "model"
    type: str | None = None
    context_length: int | None = None
    max_tokens: int | None = None
    max_completions_tokens: int | None = None
    pricing: Pricing | None = None
    owned_by: str | None = None
    created: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CatalogueModel:
        owner = data.get("owned_by")
        return cls(
            id=str(data.get("id") or ""),
            object=str(data.get("object") or "model"),
            type=data.get("type") if isinstance(data.get("type"), str) else None,
            context_length=_int(data.get("context_length")),
            max_tokens=_int(data.get("max_tokens")),
            max_completions_tokens=_int(
                data.get("max_completions_tokens", data.get("max_completion_tokens"))
            ),
            pricing=parse_pricing(data.get("pricing")),
            owned_by=owner if isinstance(owner, str) else None,
            created=_int(data.get("created")),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    @property
    def vision(self) -> bool | None:
        """Whether it reads images: the entry's modalities, else the built-in table."""
        modalities = self.extra.get("input_modalities")
        if isinstance(modalities, list):
            return "image" in modalities
        if self.type == "multimodal":
            return True
        spec = family_hint(self.id)
        return None if spec is None else spec.vision

    @property
    def reasoning(self) -> bool | None:
        """Whether it can reason (the built-in table; the catalogue does not say)."""
        spec = family_hint(self.id)
        return None if spec is None else spec.can_reason


def parse_catalogue(body: Any) -> list[CatalogueModel]:
    """The entries of a model list (``{"data": [...]}``, or a bare list)."""
    items = body.get("data") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        return []
    return [
        CatalogueModel.from_dict(item)
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
    ]


# (base URL, appid) -> (monotonic time it expires, entries)
_CACHE: dict[tuple[str, str | None], tuple[float, list[CatalogueModel]]] = {}
_PRICES: dict[str, Pricing] = {}  # every price a fetched catalogue named, by id
_LOCK = threading.Lock()


def clear_catalogue_cache() -> None:
    """Forget every fetched catalogue (tests; or to force the next call to fetch)."""
    with _LOCK:
        _CACHE.clear()
        _PRICES.clear()


def _cached(
    chat: ChatCompletion, ttl: float
) -> tuple[tuple[str, str | None], list[CatalogueModel] | None]:
    key = (chat.settings.base_url, chat.settings.appid)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and ttl > 0 and hit[0] > time.monotonic():
        return key, hit[1]
    return key, None


def _store(key: tuple[str, str | None], models: list[CatalogueModel], ttl: float) -> None:
    with _LOCK:
        _CACHE[key] = (time.monotonic() + ttl, models)
        _PRICES.update({m.id: m.pricing for m in models if m.pricing is not None})


def _spec(chat: ChatCompletion) -> CallSpec:
    settings = chat.settings
    if settings.version != 2:
        raise InvalidRequestError(
            "version", "the model catalogue is a v2 API: make the client with version=2"
        )
    return CallSpec(
        url=settings.base_url + wire.V2_MODELS_PATH,
        content=None,
        auth=chat._auth,
        policy=RetryPolicy(settings.retry_count, settings.backoff_factor),
        timeout=settings.request_timeout,
        version=2,
        headers={wire.APPID_HEADER: settings.appid} if settings.appid else {},
        method="GET",
        content_type=None,
    )


def _op(
    chat: ChatCompletion, refresh: bool, ttl: float
) -> Generator[CallSpec, Any, list[CatalogueModel]]:
    key, hit = _cached(chat, ttl)
    if hit is not None and not refresh:
        return hit
    reply = yield _spec(chat)
    models = parse_catalogue(reply.body)
    _store(key, models, ttl)
    return models


def list_models(
    chat: ChatCompletion, *, refresh: bool = False, ttl: float = CATALOGUE_TTL_SECONDS
) -> list[CatalogueModel]:
    """The live catalogue (``GET /v2/models``) over ``chat``'s settings and auth, reused for
    ``ttl`` seconds in this process (``refresh=True`` fetches now)::

        for m in qianfan_chat.list_models(qianfan_chat.ChatCompletion(version=2)):
            print(m.id, m.context_length, m.pricing)
    """
    op = _op(chat, refresh, ttl)
    try:
        spec = next(op)
        op.send(chat._run(spec))
    except StopIteration as stop:
        result: list[CatalogueModel] = stop.value
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def alist_models(
    chat: ChatCompletion, *, refresh: bool = False, ttl: float = CATALOGUE_TTL_SECONDS
) -> list[CatalogueModel]:
    """The async :func:`list_models`."""
    op = _op(chat, refresh, ttl)
    try:
        spec = next(op)
        op.send(await chat._arun(spec))
    except StopIteration as stop:
        result: list[CatalogueModel] = stop.value
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def price_of(model: str) -> Pricing | None:
    """The price of ``model``: a fetched catalogue's, else the built-in table's, else None."""
    with _LOCK:
        live = _PRICES.get(model)
    if live is not None:
        return live
    spec = family_hint(model)
    return spec.pricing if spec is not None else None


def cost_of(
    model: str, usage: Usage | Mapping[str, Any], pricing: Pricing | None = None
) -> Decimal | None:
    """The cost in CNY of ``usage`` (prompt and completion tokens) at ``pricing`` (default:
    :func:`price_of` ``model``); None when the price is unknown."""
    price = pricing or price_of(model)
    if price is None:
        return None
    if isinstance(usage, Mapping):
        prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    else:
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
    return (price.prompt * int(prompt) + price.completion * int(completion)) / 1000
