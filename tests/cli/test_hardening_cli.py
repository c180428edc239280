"""Issue 13, packaging and ``serve``: each entry point names the extra it needs in one line,
``serve`` runs with the ``[server]`` extra alone (no rich), refuses to expose ``/_admin`` on a
non-loopback address, and never prints a secret in its access log.

The entry point runs in a subprocess, as ``pip install`` would install it (``sys.exit(main())``),
with the modules an extra brings made unimportable (``sys.modules[name] = None``)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

ENTRY = (
    "import sys\n"
    "for name in {blocked!r}:\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['qianfan-chat', *{args!r}]\n"
    "from qianfan_chat.cli import main\n"
    "sys.exit(main())\n"
)


def command(args: list[str], blocked: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-c", ENTRY.format(blocked=blocked, args=args)]


def run(args: list[str], blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(args, blocked), capture_output=True, text=True, timeout=60)


CORE_ONLY = ("click", "rich", "starlette", "uvicorn")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-command"),
        pytest.param(["chat", "hi"], id="chat"),
        pytest.param(["serve"], id="serve"),
        pytest.param(["--help"], id="help"),
    ],
)
def test_core_install_names_the_cli_extra(args: list[str]) -> None:
    result = run(args, CORE_ONLY)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert 'pip install "qianfan-chat[cli]"' in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "needed"),
    [
        pytest.param(["serve", "--host", "0.0.0.0"], "--admin-token", id="any-address"),
        pytest.param(["serve", "--host", "::"], "--admin-token", id="ipv6-any-address"),
    ],
)
def test_serve_refuses_a_non_loopback_bind_without_an_admin_token(
    args: list[str], needed: str
) -> None:
    # Refused before any socket is made: nothing is bound.
    result = run(args)
    assert result.returncode != 0
    assert needed in result.stderr
    assert "--no-admin" in result.stderr
    assert "Traceback" not in result.stderr


class Serve:
    """``qianfan-chat serve --port 0 ...`` in a subprocess, stopped with Ctrl+C."""

    def __init__(self, args: list[str], blocked: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            command(["serve", "--port", "0", *args], blocked),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        self.banner: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.base_url = found.group(0)
                break
        else:
            self.stop()
        assert hasattr(self, "base_url"), "".join(self.banner)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return "".join(self.banner) + out


@pytest.fixture
def serve() -> Any:
    started: list[Serve] = []

    def start(*args: str, blocked: tuple[str, ...] = ()) -> Serve:
        server = Serve(list(args), blocked)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def test_serve_runs_with_the_server_extra_alone(serve: Any) -> None:
    server = serve(blocked=("rich",))
    banner = "".join(server.banner)
    assert "[bold]" not in banner
    assert "Qianfan local test server" in banner
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        assert http.get("/_admin/health").json()["status"] == "ok"
    output = server.stop()
    assert "Traceback" not in output


def test_serve_access_log_masks_secrets(serve: Any) -> None:
    server = serve("--access-log", "--ak-sk", "my-ak:my-very-secret-sk")
    params = {
        "grant_type": "client_credentials",
        "client_id": "my-ak",
        "client_secret": "my-very-secret-sk",
    }
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        token = http.post("/oauth/2.0/token", params=params).json()["access_token"]
        reply = http.post(
            "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant",
            params={"access_token": token},
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
        assert reply.json()["result"]
        logged = http.get("/_admin/requests").text
    output = server.stop()
    assert "/oauth/2.0/token" in output
    assert "client_secret=***" in output
    for secret in ("my-very-secret-sk", token):
        assert secret not in output
        assert secret not in logged


@pytest.mark.parametrize(
    ("args", "admin_status"),
    [
        pytest.param(["--no-admin"], 200, id="no-admin"),  # a Baidu path now: error 3
        pytest.param(["--admin-token", "tok-123"], 401, id="admin-token"),
    ],
)
def test_serve_admin_flags(serve: Any, args: list[str], admin_status: int) -> None:
    server = serve(*args)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        health = http.get("/_admin/health")
        assert health.status_code == admin_status
        if "--no-admin" in args:
            assert health.json()["error_code"] == 3  # no admin route: unknown to Baidu's API
        if "--admin-token" in args:
            ok = http.get("/_admin/health", headers={"X-Qianfan-Admin-Token": "tok-123"})
            assert ok.status_code == 200
    server.stop()
