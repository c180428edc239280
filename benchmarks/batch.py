"""``qianfan-chat batch run`` at scale against the local server (loopback only).

Each run is the real command in a subprocess (``python -c "from qianfan_chat.cli import main"``),
the local server runs on a thread of this process, and every figure is printed next to its
goal (issue 14, item 5):

(a) 20,000 prompts, the server limited to 6,000 RPM, ``--rpm 6000``: the achieved rate
    (items / wall time of the run) at least 95 % of the limit, and no item failing for a
    rate limit (a 429 the client retried is counted, not failed);
(c) the run's peak RSS for 10,000 and for 100,000 input lines differs by less than 30 MB;
(d) ``kill -9`` at about half-way, then ``--resume``: every id exactly once, all ``ok``, no
    torn line.

(b), 4 processes sharing one Redis budget, belongs to the rate-limit work and is not here.

    python benchmarks/batch.py [--only a,c,d] [--scale 1.0] [--workers 32]

``--scale`` multiplies every size (0.1 for a quick look; the goals are judged at 1.0). At
scale 1 the whole benchmark takes about six minutes: (a) cannot be faster than its limit
allows (20,000 at 6,000 a minute is three sliding windows and a part), (c) is 110,000 calls.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import loopback_only
from qianfan_chat.server import LocalServer

RPM_LIMIT = 6_000
RATE_CODES = {"18", "336501", "336502", "rpm_rate_limit_exceeded", "tpm_rate_limit_exceeded"}
RUN = (
    "import resource, sys\n"
    "from qianfan_chat.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print(f'PEAK_RSS_KB {peak}', file=sys.stderr)\n"
)


def env_for(server: LocalServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIANFAN_")}
    env.update(QIANFAN_AK="bench-ak", QIANFAN_SK="bench-sk", QIANFAN_BASE_URL=server.base_url)
    return env


def write_input(path: Path, lines: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            f.write(json.dumps({"id": f"q{i}", "prompt": f"第 {i} 个问题"}, ensure_ascii=False))
            f.write("\n")
    return path


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN, "batch", "run", *args]


def run(server: LocalServer, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run(command(*args), env=env_for(server), capture_output=True, text=True)
    return done, time.perf_counter() - started


def peak_kb(stderr: str) -> int:
    return int(stderr.rsplit("PEAK_RSS_KB ", 1)[1].split()[0])


def read_output(path: Path) -> tuple[list[dict[str, Any]], bool]:
    raw = path.read_bytes()
    torn = bool(raw) and not raw.endswith(b"\n")
    lines = raw.decode("utf-8", "replace").splitlines()
    return [json.loads(x) for x in lines if x.strip()], torn


def check(name: str, value: str, goal: str, ok: bool) -> bool:
    print(f"  {name:<44}{value:>22}   goal {goal:<24}{'met' if ok else 'NOT met'}")
    return ok


def bench_rate(folder: Path, lines: int, workers: int) -> bool:
    print(f"(a) {lines} prompts, server limited to {RPM_LIMIT} RPM, --rpm {RPM_LIMIT}")
    with LocalServer(rpm=RPM_LIMIT, log_size=100) as server:
        source = write_input(folder / "a.jsonl", lines)
        out = folder / "a.out.jsonl"
        args = [str(source), "-o", str(out), "-w", str(workers), "--rpm", str(RPM_LIMIT)]
        done, wall = run(server, *args, "--progress-every", "20")
    records, torn = read_output(out)
    limited = [r for r in records if r["status"] != "ok" and str(r["error"]["code"]) in RATE_CODES]
    retried = sum(1 for r in records if (r.get("attempts") or 1) > 1)
    rate = len([r for r in records if r["status"] == "ok"]) / wall * 60
    print(f"  wall {wall:.1f} s, exit {done.returncode}, {retried} items needed a retry")
    for line in done.stderr.splitlines():
        if line.startswith(("batch: ", "achieved: ", "done: ")):
            print(f"  | {line}")
    ok = check(
        "achieved rate (ok items / wall time)",
        f"{rate:.0f}/min",
        "≥ 95 % of 6000 (5700)",
        rate >= 0.95 * RPM_LIMIT,
    )
    ok &= check("items failed for a rate limit", str(len(limited)), "0", not limited)
    ok &= check("lines written", f"{len(records)}", str(lines), len(records) == lines and not torn)
    return ok


def bench_memory(folder: Path, small: int, large: int, workers: int) -> bool:
    print(f"(c) peak RSS of a whole run, {small} vs {large} input lines")
    peaks = {}
    with LocalServer(log_size=100) as server:
        for lines in (small, large):
            source = write_input(folder / f"c{lines}.jsonl", lines)
            out = folder / f"c{lines}.out.jsonl"
            done, wall = run(server, str(source), "-o", str(out), "-w", str(workers))
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            peaks[lines] = peak_kb(done.stderr)
            print(f"  {lines:>7} lines: peak RSS {peaks[lines] / 1024:.1f} MB, {wall:.1f} s")
    delta = (peaks[large] - peaks[small]) / 1024
    return check("peak RSS difference", f"{delta:.1f} MB", "< 30 MB", delta < 30)


def bench_kill(folder: Path, lines: int, workers: int) -> bool:
    print(f"(d) {lines} prompts, kill -9 at about half-way, then --resume")
    with LocalServer(log_size=100) as server:
        source = write_input(folder / "d.jsonl", lines)
        out = folder / "d.out.jsonl"
        args = [str(source), "-o", str(out), "-w", str(workers)]
        proc = subprocess.Popen(
            command(*args),
            env=env_for(server),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not out.exists() or out.stat().st_size == 0 or _count(out) < lines // 2:
            if proc.poll() is not None:
                raise RuntimeError("the run ended before half-way")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = _count(out)
        tail_torn = not out.read_bytes().endswith(b"\n")
        done, wall = run(server, *args, "--resume")
    records, torn = read_output(out)
    ids = [r["id"] for r in records]
    print(
        f"  killed with {at_kill} lines written (torn tail: {tail_torn}); "
        f"resume exit {done.returncode} in {wall:.1f} s"
    )
    ok = check(
        "ids in the file, each once",
        f"{len(set(ids))}/{len(ids)}",
        f"{lines}/{lines}",
        len(ids) == len(set(ids)) == lines,
    )
    ok &= check(
        "all ok",
        str(all(r["status"] == "ok" for r in records)),
        "True",
        all(r["status"] == "ok" for r in records),
    )
    ok &= check("torn line after resume", str(torn), "False", not torn)
    return ok and done.returncode == 0


def _count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="a,c,d", help="which parts, e.g. a,d")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    loopback_only()
    parts = set(args.only.split(","))

    def size(n: int) -> int:
        return max(100, int(n * args.scale))

    print(f"python {sys.version.split()[0]}, workers {args.workers}, scale {args.scale:g}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        if "a" in parts:
            results.append(bench_rate(folder, size(20_000), args.workers))
        if "c" in parts:
            results.append(bench_memory(folder, size(10_000), size(100_000), args.workers))
        if "d" in parts:
            results.append(bench_kill(folder, size(20_000), args.workers))
    print("batch run goals:", "all met" if all(results) else "NOT all met")
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
