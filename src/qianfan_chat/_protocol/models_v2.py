"""The v2 (OpenAI-compatible) model table: the ids ``/v2/chat/completions`` knows.

Source: ``shared/docs/protocol-v2.md`` ("Request", ``model``; "Function calling"). v2 ids are
lower case and matched exactly (a v1 name such as ``ERNIE-3.5-8K`` is not a v2 id); a deployed
service is called by its API name instead. The client, the LangChain model and the local server
all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_V2_MODEL: Final = "ernie-lite-8k"  # protocol.md section 2
# Input budget for a model whose context size is unknown (a deployed service): generous, so
# only an absurd prompt is refused.
DEFAULT_CONTEXT_TOKENS: Final = 131_072
MIN_OUTPUT_TOKENS: Final = 2  # protocol-v2.md: max_tokens range [2, ...]


@dataclass(frozen=True, slots=True)
class V2ModelSpec:
    """One v2 model: its id, whether it calls functions or reasons, and its token budgets
    (``max_output_tokens`` None: no documented upper bound)."""

    id: str
    function_calling: bool
    reasoning: bool
    context_tokens: int
    max_output_tokens: int | None


def _spec(model: str, *, tools: bool = True, reasoning: bool = False) -> V2ModelSpec:
    size = model.rsplit("-", 1)[-1]
    context = int(size[:-1]) * 1024 if size.endswith("k") and size[:-1].isdigit() else 65_536
    # protocol-v2.md: "[2, 2048] for most 8k models"; other ranges are not documented.
    max_output = 2048 if size == "8k" else None
    return V2ModelSpec(model, tools, reasoning, context, max_output)


V2_MODEL_SPECS: Final[tuple[V2ModelSpec, ...]] = (
    _spec("ernie-4.0-8k"),
    _spec("ernie-4.0-turbo-8k"),
    _spec("ernie-3.5-8k"),
    _spec("ernie-3.5-128k"),
    _spec("ernie-speed-8k", tools=False),
    _spec("ernie-speed-128k", tools=False),
    _spec("ernie-speed-pro-128k"),
    _spec("ernie-lite-8k", tools=False),
    _spec("ernie-lite-pro-128k"),
    _spec("ernie-tiny-8k", tools=False),
    _spec("ernie-char-8k", tools=False),
    _spec("ernie-novel-8k", tools=False),
    _spec("ernie-4.5-turbo-128k"),
    _spec("ernie-4.5-turbo-32k"),
    _spec("ernie-x1-turbo-32k", reasoning=True),
    _spec("deepseek-v3"),  # 64k context
    _spec("deepseek-r1", reasoning=True),
)
V2_MODELS: Final[tuple[str, ...]] = tuple(spec.id for spec in V2_MODEL_SPECS)
_BY_ID: Final = {spec.id: spec for spec in V2_MODEL_SPECS}


def v2_model(model: str) -> V2ModelSpec | None:
    """The spec of a v2 model id (exact, lower case), or None if it is not a known id."""
    return _BY_ID.get(model)


def is_reasoning_model(model: str) -> bool:
    """``deepseek-r1`` and the ``ernie-x1-*`` family answer with ``reasoning_content``."""
    spec = _BY_ID.get(model)
    return spec.reasoning if spec else model.startswith("ernie-x1-")
