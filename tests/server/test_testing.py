"""The pytest fixtures users import from ``qianfan_chat.testing``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx

from qianfan_chat.server import LocalServer
from qianfan_chat.testing import qianfan_server, qianfan_server_factory

__all__ = ["qianfan_server", "qianfan_server_factory"]  # Imported fixtures, used below.


def ask(server: LocalServer, text: str) -> str:
    response = httpx.post(
        server.chat_url("eb-instant"),
        params={"access_token": server.issue_token()},
        json={"messages": [{"role": "user", "content": text}]},
    )
    result: str = response.json()["result"]
    return result


def test_fixture_is_a_running_server(qianfan_server: LocalServer) -> None:
    qianfan_server.add_rule(contains="fixture", text="scripted")
    assert ask(qianfan_server, "fixture?") == "scripted"


def test_fixture_is_reset_between_tests(qianfan_server: LocalServer) -> None:
    assert qianfan_server.engine.rules == []
    assert qianfan_server.requests() == []
    assert ask(qianfan_server, "fixture?") != "scripted"


def test_factory_starts_dedicated_servers(
    qianfan_server_factory: Callable[..., LocalServer], qianfan_server: LocalServer
) -> None:
    strict = qianfan_server_factory(ak_sk={"k": "s"})
    assert strict.running
    assert strict.base_url != qianfan_server.base_url
    assert strict.config.ak_sk == {"k": "s"}


def run_pytest(tmp_path: Path, conftest: str, test: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    (tmp_path / "test_app.py").write_text(textwrap.dedent(test))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_plugin_in_a_users_suite(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path,
        """
        import pytest
        from qianfan_chat.server import ServerConfig

        pytest_plugins = ["qianfan_chat.testing"]

        @pytest.fixture(scope="session")
        def qianfan_server_config():
            return ServerConfig(ak_sk={"my-ak": "my-sk"})
        """,
        """
        import httpx

        def test_one(qianfan_server):
            qianfan_server.add_rule(contains="hi", text="hello from the fixture")
            query = {"grant_type": "client_credentials", "client_id": "my-ak",
                     "client_secret": "my-sk"}
            token = httpx.post(qianfan_server.url("/oauth/2.0/token"), params=query).json()
            reply = httpx.post(
                qianfan_server.chat_url("completions"),
                params={"access_token": token["access_token"]},
                json={"messages": [{"role": "user", "content": "hi"}]},
            ).json()
            assert reply["result"] == "hello from the fixture"

        def test_two(qianfan_server):
            assert qianfan_server.engine.rules == []
            assert qianfan_server.config.ak_sk == {"my-ak": "my-sk"}
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_importable_without_pytest_or_the_server() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pytest"] = None  # As if pytest were not installed.
        import qianfan_chat.testing as testing
        assert not any(m.startswith(("qianfan_chat.server", "starlette", "uvicorn"))
                       for m in sys.modules)
        try:
            testing.qianfan_server()
        except RuntimeError as exc:
            assert "needs pytest" in str(exc)
        else:
            raise AssertionError("the fixture should fail without pytest")
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_import_qianfan_chat_never_imports_the_server() -> None:
    code = (
        "import sys, qianfan_chat; "
        "assert not [m for m in sys.modules if m.startswith(('qianfan_chat.server', 'starlette',"
        " 'uvicorn'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
