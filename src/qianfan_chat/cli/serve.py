"""``qianfan-chat serve``: run the local Qianfan server (replies are scripted TEST DATA).

Importing this module starts nothing and does not import the server; the command imports it
when it runs.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import click


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, secret = value.partition(":")
        if not sep or not key or not secret:
            raise click.BadParameter(f"expected AK:SK, got {value!r}", param_hint=option)
        pairs[key] = secret
    return pairs


def _faults(values: tuple[str, ...]) -> list[Any]:
    from ..server.faults import parse_faults

    faults: list[Any] = []
    for value in values:
        try:
            faults.extend(parse_faults(json.loads(value)))
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: {exc}", param_hint="--fault") from exc
    return faults


@click.command()
@click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port (0: any free one).  [default: 8866]")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON or TOML config file (ServerConfig fields); flags override it.",
)
@click.option("--ak-sk", multiple=True, metavar="AK:SK", help="An OAuth key pair (repeatable).")
@click.option("--iam-key", multiple=True, metavar="AK:SK", help="An IAM key pair (repeatable).")
@click.option(
    "--api-key",
    multiple=True,
    metavar="KEY",
    help="A v2 API key accepted as Bearer (repeatable; none: any key).",
)
@click.option("--app-id", multiple=True, metavar="ID", help="A v2 appid header value (repeatable).")
@click.option("--token-lifetime", type=float, help="Access-token lifetime in seconds.")
@click.option("--endpoint", multiple=True, metavar="NAME", help="A custom endpoint name.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON or TOML file of scripted replies (rules).",
)
@click.option("--qps", type=click.IntRange(min=0), help="Requests per second per key.")
@click.option("--rpm", type=click.IntRange(min=0), help="Requests per minute per key.")
@click.option("--tpm", type=click.IntRange(min=0), help="Tokens per minute per key.")
@click.option("--fault", multiple=True, metavar="JSON", help="E.g. '{\"http_status\": 503}'.")
@click.option("--seed", type=int, help="Seed of the fault draws.")
@click.option(
    "--batch-line-seconds",
    type=click.FloatRange(min=0),
    help="Seconds a batch job waits after each line (slow jobs down).  [default: 0]",
)
@click.option(
    "--access-log", is_flag=True, help="Log every request to the console (secrets masked)."
)
@click.option("--no-admin", is_flag=True, help="Do not serve the /_admin/ routes.")
@click.option(
    "--admin-token",
    metavar="TOKEN",
    envvar="QIANFAN_ADMIN_TOKEN",
    help="Require this X-Qianfan-Admin-Token header on /_admin/ calls (needed to bind a "
    "non-loopback --host with the admin routes on).  [env: QIANFAN_ADMIN_TOKEN]",
)
@click.option(
    "--log-secrets",
    is_flag=True,
    help="Show tokens, keys and signatures in /_admin/requests and the access log.",
)
def serve(
    host: str | None,
    port: int | None,
    config_file: str | None,
    ak_sk: tuple[str, ...],
    iam_key: tuple[str, ...],
    api_key: tuple[str, ...],
    app_id: tuple[str, ...],
    token_lifetime: float | None,
    endpoint: tuple[str, ...],
    rules_file: str | None,
    qps: int | None,
    rpm: int | None,
    tpm: int | None,
    fault: tuple[str, ...],
    seed: int | None,
    batch_line_seconds: float | None,
    access_log: bool,
    no_admin: bool,
    admin_token: str | None,
    log_secrets: bool,
) -> None:
    """Run the local Qianfan v1 and v2 server for offline tests (replies are scripted test
    data).

    With no --ak-sk it runs in open mode: any non-empty API key / secret key pair gets a
    token. IAM signatures are accepted only for --iam-key pairs. v2 (OpenAI-compatible):
    with no --api-key any non-empty Bearer key but a v1 access token is accepted; keys minted
    by /v1/BCE-BEARER/token (signed with an --iam-key) work in both modes.
    """
    from ..server.config import ServerConfig

    try:
        base = ServerConfig.from_file(config_file) if config_file else ServerConfig()
        overrides: dict[str, Any] = {
            "host": host or base.host,
            "port": port if port is not None else (base.port or 8866),
            "ak_sk": {**base.ak_sk, **_pairs(ak_sk, "--ak-sk")},
            "iam_keys": {**base.iam_keys, **_pairs(iam_key, "--iam-key")},
            "api_keys": (*base.api_keys, *api_key),
            "app_ids": (*base.app_ids, *app_id),
            "custom_endpoints": (*base.custom_endpoints, *endpoint),
            "faults": (*base.faults, *_faults(fault)),
        }
        for name, value in (
            ("token_lifetime", token_lifetime),
            ("rules_file", rules_file),
            ("qps", qps),
            ("rpm", rpm),
            ("tpm", tpm),
            ("seed", seed),
            ("batch_line_seconds", batch_line_seconds),
            ("admin_token", admin_token),
        ):
            if value is not None:
                overrides[name] = value
        if no_admin:
            overrides["admin"] = False
        if log_secrets:
            overrides["log_secrets"] = True
        config = base.with_overrides(**overrides)
        config.check_bind()  # A non-loopback bind needs --admin-token or --no-admin.
        config.all_rules()  # Fail now on a bad rules file, not on the first request.
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    run(config, access_log=access_log)


def run(config: Any, *, access_log: bool = False) -> None:
    """Bind, print the banner, and serve until interrupted."""
    import uvicorn

    from ..server.app import create_app
    from ..server.local import uvicorn_config
    from ..server.state import ServerState

    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot bind {config.host}:{config.port}: {exc}") from exc
    state = ServerState(config)
    app = create_app(state=state)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    console = _console()
    _banner(console, config, state, f"http://{shown_host}:{bound_port}")
    server = uvicorn.Server(
        uvicorn_config(
            app, state, access_log=access_log, log_level="info" if access_log else "warning"
        )
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown.
        console.print("stopped.")


class _PlainConsole:
    """What the banner needs of rich's Console, in plain text: ``serve`` runs with the
    ``[server]`` extra alone, which does not bring rich."""

    def print(self, text: str) -> None:
        click.echo(re.sub(r"\[/?(?:bold|cyan)\]", "", text).replace("\\[", "["))


def _console() -> Any:
    try:
        from rich.console import Console
    except ImportError:
        return _PlainConsole()
    return Console(soft_wrap=True, highlight=False)


def _escape(text: str) -> str:
    try:
        from rich.markup import escape
    except ImportError:
        return text.replace("[", "\\[")
    return escape(text)


def _banner(console: Any, config: Any, state: Any, base_url: str) -> None:
    from .._protocol import wire

    escape = _escape

    mode = (
        "open mode (any non-empty AK/SK pair gets a token)"
        if config.open_mode
        else f"{len(config.ak_sk)} configured API key(s)"
    )
    console.print(f"[bold]Qianfan local test server[/bold] on [cyan]{escape(base_url)}[/cyan]")
    v2_mode = (
        "open mode (any non-empty Bearer key)"
        if config.v2_open_mode
        else f"{len(config.api_keys)} configured API key(s)"
    )
    console.print(f"  OAuth: {mode}; IAM keys: {len(config.iam_keys)}")
    console.print(escape(f"  chat:  {base_url}{config.api_prefix}{wire.V1_CHAT_SEGMENT}{{suffix}}"))
    console.print(escape(f"  v2:    {base_url}{config.v2_prefix}  (OpenAI base URL; {v2_mode})"))
    console.print(escape(f"  v2 keys from IAM keys: {base_url}{wire.BEARER_PATH}"))
    if config.custom_endpoints:
        console.print(escape(f"  custom endpoints: {', '.join(config.custom_endpoints)}"))
    limits = config.rate_limits.to_dict()
    shown = ", ".join(f"{k}={v}" for k, v in limits.items() if v is not None) or "none"
    console.print(
        f"  rules: {len(state.engine.rules)}; faults: {len(config.faults)}; "
        f"rate limits: {shown}; seed: {config.seed}"
    )
    if not config.admin:
        admin = "admin routes off"
    elif config.admin_token:
        admin = "admin routes under /_admin/ (X-Qianfan-Admin-Token required)"
    else:
        admin = "admin routes under /_admin/"
    console.print(f"  replies are scripted test data; {admin}. Ctrl+C stops.")
