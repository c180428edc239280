"""The v2 additions around the routes: LocalServer's URLs and key helpers, the config fields and
files, the admin health, the app in-process, unexpected errors, the pytest fixture, and the
``serve`` command's flags and banner."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from qianfan_chat._protocol.models_v2 import V2_MODELS, is_reasoning_model, v2_model
from qianfan_chat.cli import main
from qianfan_chat.server import LocalServer, ServerConfig, create_app
from qianfan_chat.server.wire import ConnectionDropped
from qianfan_chat.testing import qianfan_server, qianfan_server_factory

from .conftest import V2, V2_KEY, V2_MODEL, user

__all__ = ["qianfan_server", "qianfan_server_factory"]  # Imported fixtures, used below.

HI = {"model": V2_MODEL, "messages": user("hi")}


def test_urls(v2: V2) -> None:
    server = v2.server
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2", server.v2_base_url)
    assert server.v2_chat_url == server.v2_base_url + "/chat/completions"


def test_model_table() -> None:
    assert len(V2_MODELS) == len(set(V2_MODELS)) >= 17  # the 2024 ids and the 2026 ones
    assert all(model == model.lower() for model in V2_MODELS)
    spec = v2_model("ernie-speed-8k")
    assert spec is not None
    assert (spec.function_calling, spec.context_tokens, spec.max_output_tokens) == (
        False,
        8192,
        2048,
    )
    assert v2_model("ERNIE-Speed-8K") is None
    assert {"ernie-x1-turbo-32k", "deepseek-r1"} <= {m for m in V2_MODELS if is_reasoning_model(m)}
    assert not is_reasoning_model("ernie-lite-8k")


def test_config_fields_and_files(tmp_path: Path) -> None:
    config = ServerConfig(api_keys=["k1"], app_ids=["app"], v2_prefix="openai/v2/")
    assert (config.api_keys, config.app_ids, config.v2_prefix) == (("k1",), ("app",), "/openai/v2")
    assert config.v2_open_mode is False
    assert ServerConfig().v2_open_mode is True
    as_json = tmp_path / "server.json"
    as_json.write_text(json.dumps({"api_keys": ["a", "b"], "app_ids": ["x"]}))
    assert ServerConfig.from_file(as_json).api_keys == ("a", "b")
    if sys.version_info >= (3, 11):
        as_toml = tmp_path / "server.toml"
        as_toml.write_text(
            'api_keys = ["t"]\nv2_prefix = "/v2x"\n[[faults]]\nerror_code = "internal_error"\n'
        )
        config = ServerConfig.from_file(as_toml)
        assert (config.api_keys, config.v2_prefix) == (("t",), "/v2x")
        assert config.faults[0].error_code == "internal_error"


@pytest.mark.parametrize(
    "bad",
    [
        {"api_keys": "k"},
        {"api_keys": [1]},
        {"api_keys": [" "]},
        {"app_ids": [""]},
        {"v2_prefix": 2},
    ],
    ids=["keys-string", "keys-int", "keys-blank", "appid-blank", "prefix-int"],
)
def test_bad_config(bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        ServerConfig.from_mapping(bad)


def test_admin_health_and_log(v2: V2) -> None:
    v2.server.issue_api_key()
    v2.post(HI)
    health = v2.client.get(v2.server.url("/_admin/health")).json()
    assert (health["v2_open_mode"], health["v2_base_path"], health["api_keys_minted"] >= 1) == (
        True,
        "/v2",
        True,
    )
    (entry,) = v2.client.get(v2.server.url("/_admin/requests")).json()["requests"]
    assert (entry["path"], entry["key"], entry["status"]) == ("/v2/chat/completions", "***", 200)
    assert v2.log()[0]["key"] == V2_KEY  # the in-process view shows what was sent


def test_unexpected_errors_become_internal_error(v2: V2, monkeypatch: pytest.MonkeyPatch) -> None:
    # No request can make the engine fail, so this is the one place a failure is patched in.
    def broken(request: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(v2.server.state.engine, "reply", broken)
    status, error = v2.error(HI)
    assert (status, error["code"]) == (500, "internal_error")
    monkeypatch.undo()
    assert v2.post(HI).status_code == 200


async def test_app_in_process() -> None:
    app = create_app(ServerConfig(api_keys=["k"]))
    app.state.qianfan.engine.add_rule(contains="hi", text="in process")
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer k"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        data = (await client.post("/v2/chat/completions", json=HI, headers=headers)).json()
        assert data["choices"][0]["message"]["content"] == "in process"
        app.state.qianfan.faults.add(drop=True, times=1)
        with pytest.raises(ConnectionDropped):
            await client.post("/v2/chat/completions", json=HI, headers=headers)


def test_pytest_fixture_serves_v2(qianfan_server: LocalServer) -> None:
    qianfan_server.add_rule(contains="fixture", text="v2 scripted")
    response = httpx.post(
        qianfan_server.v2_chat_url,
        headers={"Authorization": "Bearer any"},
        json={"model": V2_MODEL, "messages": user("fixture?")},
    )
    assert response.json()["choices"][0]["message"]["content"] == "v2 scripted"


def test_cli_help_lists_the_v2_flags() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--api-key" in result.output
    assert "--app-id" in result.output


def test_cli_serves_v2(tmp_path: Path) -> None:
    command = [
        sys.executable, "-c", "from qianfan_chat.cli import main; main()", "serve",
        "--port", "0", "--api-key", "key-1", "--api-key", "key-2", "--app-id", "app-1",
        "--iam-key", "ak:sk",
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            banner = [proc.stdout.readline() for _ in range(4)]
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", banner[0])
            assert match, banner
            base = match.group(1)
            v2_line = next(line for line in banner if line.strip().startswith("v2:"))
            assert f"{base}/v2" in v2_line
            assert "2 configured API key(s)" in v2_line
            with httpx.Client(base_url=base, timeout=10) as http:

                def call(key: str, **headers: str) -> int:
                    sent = {"Authorization": f"Bearer {key}", **headers}
                    return http.post("/v2/chat/completions", json=HI, headers=sent).status_code

                assert call("key-2") == 200
                assert call("key-3") == 401
                assert call("key-1", appid="app-1") == 200
                assert call("key-1", appid="app-2") == 401
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(10) == 0


def test_factory_fixture_takes_v2_settings(
    qianfan_server_factory: Callable[..., LocalServer],
) -> None:
    strict = qianfan_server_factory(api_keys=["only"])
    response = httpx.post(strict.v2_chat_url, headers={"Authorization": "Bearer other"}, json=HI)
    assert response.status_code == 401
