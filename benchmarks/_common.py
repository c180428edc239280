"""Shared benchmark helpers: a loopback-only guard, a local server in a subprocess, timing.

Benchmarks only ever talk to 127.0.0.1. :func:`loopback_only` makes sure of it for libraries we
do not control (Baidu's SDK fetches settings from its console API on its own): any connect to
another address raises instead of leaving the machine.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

_LOOPBACK_HOSTS = ("127.", "::1", "localhost")


def loopback_only() -> None:
    """Refuse every socket connect to a non-loopback address in this process."""
    original = socket.socket.connect
    original_ex = socket.socket.connect_ex

    def _check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(address, tuple) and not str(host).startswith(_LOOPBACK_HOSTS):
            raise ConnectionRefusedError(f"benchmark guard: {host} is not a loopback address")

    def connect(self: socket.socket, address: Any) -> None:
        _check(address)
        original(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(address)
        return original_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_server(rules: Sequence[dict[str, Any]] = (), *extra: str) -> Iterator[str]:
    """``qianfan-chat serve`` in a subprocess (its own core); yields the base URL."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(list(rules), f, ensure_ascii=False)
        rules_file = f.name
    command = [
        sys.executable,
        "-c",
        "from qianfan_chat.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--rules",
        rules_file,
        *extra,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base_url + "/_admin/health", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start: "
                        + (proc.stderr.read().decode() if proc.stderr else "")
                    ) from None
                time.sleep(0.1)
        yield base_url
    finally:
        proc.terminate()
        proc.wait(10)
        os.unlink(rules_file)


def best_of(runs: int, func: Callable[[], float]) -> float:
    """The median of ``runs`` measurements (seconds): robust to one noisy run."""
    return statistics.median(func() for _ in range(runs))


def import_time(statement: str, python: str = sys.executable, runs: int = 7) -> float:
    """Median wall time of ``statement`` in a fresh interpreter, excluding start-up."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(runs):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def machine() -> str:
    """The machine a run was made on: cores, CPU model, Python (for the README's table)."""
    import platform

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
