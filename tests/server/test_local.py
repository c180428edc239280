"""LocalServer's lifecycle, the app in-process, the config file, the catch-all, and the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer, ServerConfig, create_app
from qianfan_chat.server.wire import ConnectionDropped

from .conftest import Api, user

HI = {"messages": user("hi")}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_many_start_stop_cycles_leak_nothing(client: httpx.Client) -> None:
    threads, fds = threading.active_count(), open_fds()
    for _ in range(12):
        with LocalServer() as server:
            token = server.issue_token()
            url = server.chat_url("eb-instant")
            assert client.post(url, params={"access_token": token}, json=HI).json()["result"]
        assert not server.running
    client.close()
    assert threading.active_count() == threads
    assert open_fds() <= fds


def test_lifecycle_api() -> None:
    server = LocalServer(seed=3)
    assert repr(server) == "<LocalServer stopped>"
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        assert server.url("x") == server.base_url + "/x"
        assert server.chat_url("eb-instant").endswith("/wenxinworkshop/chat/eb-instant")
        assert repr(server) == f"<LocalServer {server.base_url}>"
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    server.stop()  # Idempotent.
    server.start()  # Restartable, with the same state.
    server.stop()


async def test_app_in_process() -> None:
    app = create_app(ServerConfig(ak_sk={"ak": "sk"}))
    state = app.state.qianfan
    state.engine.add_rule(contains="hi", text="in process")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        query = {"grant_type": "client_credentials", "client_id": "ak", "client_secret": "sk"}
        token = (await client.post("/oauth/2.0/token", params=query)).json()["access_token"]
        url = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions"
        data = (await client.post(url, params={"access_token": token}, json=HI)).json()
        assert data["result"] == "in process"
        # No connection to reset in-process: the drop fault surfaces as an exception.
        state.faults.add(drop=True, times=1)
        with pytest.raises(ConnectionDropped):
            await client.post(url, params={"access_token": token}, json=HI)


def test_unexpected_errors_become_336000(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # No request can make the engine fail, so this is the one place a failure is patched in.
    def broken(request: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(api.server.state.engine, "reply", broken)
    response = api.chat(HI)
    assert response.status_code == 200
    assert response.json() == {"error_code": 336000, "error_msg": "Internal error"}
    assert api.log()[-1]["error_code"] == 336000
    monkeypatch.undo()
    assert api.chat(HI).json()["result"]


def test_config_from_files(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps([{"contains": "a", "text": "A"}]))
    as_json = tmp_path / "server.json"
    as_json.write_text(
        json.dumps({"ak_sk": {"k": "s"}, "rpm": 5, "rules_file": "rules.json", "seed": 9})
    )
    config = ServerConfig.from_file(as_json, port=1234)
    assert (config.ak_sk, config.rpm, config.seed, config.port) == ({"k": "s"}, 5, 9, 1234)
    assert config.all_rules()[0].text == "A"
    if sys.version_info >= (3, 11):
        as_toml = tmp_path / "server.toml"
        as_toml.write_text(
            'custom_endpoints = ["svc"]\ntpm = 10\n[ak_sk]\nk = "s"\n'
            '[[faults]]\nhttp_status = 503\ntimes = 1\n[[rules]]\nregex = "."\ntext = "x"\n'
        )
        config = ServerConfig.from_file(as_toml)
        assert config.custom_endpoints == ("svc",)
        assert config.faults[0].status == 503
        assert config.rules[0].text == "x"


@pytest.mark.parametrize(
    "bad",
    [
        {"unknown_key": 1},
        {"ak_sk": ["k", "s"]},
        {"port": -1},
        {"port": 70000},
        {"token_lifetime": 0},
        {"rpm": -5},
        {"custom_endpoints": "svc"},
        {"rules": [{"contains": "x"}]},
        {"faults": [{"kind": "nope"}]},
    ],
    ids=lambda bad: next(iter(bad)),
)
def test_bad_config(bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        ServerConfig.from_mapping(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ak-sk", "no-colon"], "expected AK:SK"),
        (["--iam-key", ":sk"], "expected AK:SK"),
        (["--fault", "{not json"], "--fault"),
        (["--fault", '{"kind": "explode"}'], "unknown fault kind"),
        (["--rpm", "-1"], "--rpm"),
    ],
    ids=["ak-sk", "iam-key", "fault-json", "fault-kind", "rpm"],
)
def test_cli_rejects_bad_flags(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_cli_help_lists_every_flag() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in [
        "--host", "--port", "--config", "--ak-sk", "--iam-key", "--token-lifetime",
        "--endpoint", "--rules", "--qps", "--rpm", "--tpm", "--fault", "--seed",
    ]:  # fmt: skip
        assert flag in result.output


def test_cli_serves(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"contains": "cli", "text": "from the cli"}]))
    command = [
        sys.executable, "-c", "from qianfan_chat.cli import main; main()", "serve",
        "--port", "0", "--ak-sk", "ak:sk", "--endpoint", "svc", "--rules", str(rules),
        "--rpm", "1", "--fault", '{"http_status": 503, "times": 1}', "--seed", "5",
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", banner)
            assert match, banner
            base = match.group(1)
            with httpx.Client(base_url=base, timeout=10) as http:
                query = {
                    "grant_type": "client_credentials",
                    "client_id": "ak",
                    "client_secret": "sk",
                }
                token = http.post("/oauth/2.0/token", params=query).json()["access_token"]
                url = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/svc"
                params = {"access_token": token}
                body = {"messages": user("cli")}
                assert http.post(url, params=params, json=body).status_code == 503
                assert http.post(url, params=params, json=body).json()["result"] == "from the cli"
                assert http.post(url, params=params, json=body).json()["error_code"] == 336501
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl+C: a graceful stop and exit status 0.
            assert proc.wait(10) == 0


def test_unexpected_errors_on_v2_become_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The v2 route shares the catch-all: a bug answers v2's 500 body, and serving goes on."""
    import httpx

    from qianfan_chat.server import LocalServer

    def broken(request: Any) -> Any:
        raise RuntimeError("bug")

    with LocalServer() as server:
        body = {"model": "ernie-lite-8k", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": "Bearer bce-v3/ALTAK-x/0"}
        monkeypatch.setattr(server.state.engine, "reply", broken)
        response = httpx.post(server.v2_chat_url, json=body, headers=headers)
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        monkeypatch.undo()
        ok = httpx.post(server.v2_chat_url, json=body, headers=headers)
        assert ok.json()["choices"][0]["message"]["content"]
