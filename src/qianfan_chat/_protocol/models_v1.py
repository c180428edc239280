"""The v1 model table: model names to endpoint suffixes, read from the shipped JSON data.

The data is ``qianfan_chat/data/v1-chat-models.json``, a copy of the project's
``shared/data/v1-chat-models.json`` (a test keeps the two equal). Names are matched
case-insensitively; the seed documents' spellings (``ERNIE-Bot 4.0``, ``Llama-2-7b-chat``) are
aliases. The client, the LangChain model and the local server all read this one table; the
client turns a name the table lacks into :class:`~qianfan_chat.UnknownModelError` with the
table's close names.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Used when a model's input limit is unknown: seed document 001, messages rule (4).
DEFAULT_MAX_INPUT_TOKENS = 3000


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One row of the model table."""

    name: str
    endpoint: str  # path after the API prefix, e.g. "/chat/eb-instant"
    optional: frozenset[str]
    max_input_tokens: int | None = None

    @property
    def suffix(self) -> str:
        """The last path segment, e.g. ``eb-instant``."""
        return self.endpoint.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class ModelTable:
    default_model: str
    models: dict[str, ModelSpec]  # canonical name -> spec
    by_lower: dict[str, ModelSpec]  # every accepted spelling, lower-cased -> spec
    by_suffix: dict[str, ModelSpec]  # endpoint suffix -> first model served there

    def lookup(self, name: str | None) -> ModelSpec | None:
        """The spec for ``name`` (case-insensitive; None means the default model), or None
        when the table does not know it."""
        key = (name if name is not None else self.default_model).strip().lower()
        return self.by_lower.get(key)

    def close_names(self, name: str) -> list[str]:
        """Up to three known names close to ``name``, for an "unknown model" message."""
        close = difflib.get_close_matches(
            name.strip().lower(), list(self.by_lower), n=3, cutoff=0.5
        )
        return sorted({self.by_lower[c].name for c in close})

    def keys_for(self, name: str | None) -> frozenset[str]:
        """Every key a request's model or endpoint may carry for ``name`` to match it: the
        name in lower case and, for a model of the table, its endpoint suffix (so a rule for
        ``ERNIE-Bot`` matches a call to ``/chat/completions``)."""
        if name is None:
            return frozenset()
        key = name.strip().lower()
        spec = self.by_lower.get(key)
        return frozenset({key, spec.suffix.lower()}) if spec else frozenset({key})


def _build(data: dict[str, Any]) -> ModelTable:
    models: dict[str, ModelSpec] = {}
    for name, row in data["models"].items():
        models[name] = ModelSpec(
            name=name,
            endpoint=row["endpoint"],
            optional=frozenset(row.get("optional", ())),
            max_input_tokens=row.get("max_input_tokens"),
        )
    by_lower = {name.lower(): spec for name, spec in models.items()}
    for alias, target in data.get("seed_names", {}).items():
        by_lower.setdefault(alias.lower(), models[target])
    by_suffix: dict[str, ModelSpec] = {}
    for spec in models.values():
        by_suffix.setdefault(spec.suffix, spec)
    return ModelTable(data["default_model"], models, by_lower, by_suffix)


@lru_cache(maxsize=1)
def model_table() -> ModelTable:
    """The shipped model table (parsed once, on first use)."""
    raw = (Path(__file__).parent.parent / "data" / "v1-chat-models.json").read_text("utf-8")
    return _build(json.loads(raw))
