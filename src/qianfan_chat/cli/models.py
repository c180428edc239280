"""``qianfan-chat models``: the live v2 model catalogue (``GET /v2/models``) as a table, with
what the built-in capability table adds (vision, the reasoning switch, tools, web search), or
as JSON (``--json``); ``--builtin`` prints the built-in table without calling the service."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import CatalogueModel, ChatCompletion, QianfanError, list_models
from .._protocol.models_v2 import V2_MODEL_SPECS, catalogue_entry, family_hint

_COLUMNS = (
    "id",
    "type",
    "context",
    "max out",
    "max think+out",
    "vision",
    "reasoning",
    "tools",
    "search",
    "CNY/1K in",
    "CNY/1K out",
)


def _row(model: CatalogueModel) -> dict[str, Any]:
    """One model as JSON: the catalogue's fields, then the built-in table's hints (None when
    the table does not know the id)."""
    spec = family_hint(model.id)
    pricing = model.pricing or (spec.pricing if spec else None)
    return {
        "id": model.id,
        "type": model.type,
        "context_length": model.context_length,
        "max_tokens": model.max_tokens,
        "max_completions_tokens": model.max_completions_tokens,
        "pricing": None
        if pricing is None
        else {"prompt": str(pricing.prompt), "completion": str(pricing.completion)},
        "vision": model.vision,
        "reasoning": None if spec is None else (spec.thinking or spec.can_reason),
        "tools": None if spec is None else spec.function_calling,
        "search": None if spec is None else spec.search,
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _cells(row: dict[str, Any]) -> list[str]:
    price = row["pricing"] or {}
    return [
        _cell(v)
        for v in (
            row["id"],
            row["type"],
            row["context_length"],
            row["max_tokens"],
            row["max_completions_tokens"],
            row["vision"],
            row["reasoning"],
            row["tools"],
            row["search"],
            price.get("prompt"),
            price.get("completion"),
        )
    ]


def _print_table(rows: list[dict[str, Any]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich is optional: a tab-separated table then
        click.echo("\t".join(_COLUMNS))
        for row in rows:
            click.echo("\t".join(_cells(row)))
        return
    table = Table(title="Qianfan v2 models")
    for name in _COLUMNS:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*_cells(row))
    Console(width=160).print(table)


@click.command()
@click.option("--base-url", default=None, help="API base URL (QIANFAN_CONSOLE_API_BASE_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one list) instead of a table.")
@click.option("--refresh", is_flag=True, help="Fetch now, not from this process's cache.")
@click.option(
    "--builtin", is_flag=True, help="The built-in capability table; no call to the service."
)
def models(base_url: str | None, as_json: bool, refresh: bool, builtin: bool) -> None:
    """List the v2 models: the live catalogue (GET /v2/models) with the built-in table's
    capabilities beside it; needs a v2 API key (QIANFAN_API_KEY) or IAM keys."""
    if builtin:
        entries = [CatalogueModel.from_dict(catalogue_entry(spec)) for spec in V2_MODEL_SPECS]
    else:
        try:
            with ChatCompletion(version=2, base_url=base_url) as chat:
                entries = list_models(chat, refresh=refresh)
        except QianfanError as exc:
            raise click.ClickException(str(exc)) from exc
    rows = [_row(m) for m in entries]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        _print_table(rows)
