"""Client overhead: qianfan-chat against raw HTTP and what users would pick instead, one run.

Every client talks to the same local Qianfan server (a subprocess, so it has its own core) over
loopback, v1 and v2 rows:

* per call: 1,000 sequential non-streaming calls;
* async throughput: 3,000 calls, 64 in flight;
* stream consumption: 1,000-event streams read to the end, sync and async;
* import time, in a fresh interpreter.

Columns: **raw** is the same HTTP done by hand (token in the query or the Bearer header, JSON
body, parse the reply, parse each SSE line): httpx for the sync rows, an aiohttp
``ClientSession`` for the async ones (raw httpx's ``AsyncClient``, httpcore's pool, is shown
too); **ours** is ``qianfan_chat.ChatCompletion``; **alternative** is Baidu's ``qianfan`` SDK
0.4.12.3 for v1 (pointed at the server with ``QIANFAN_BASE_URL``) and ``openai.OpenAI`` /
``openai.AsyncOpenAI`` for v2 (``base_url`` the server's ``/v2``).

The machine may be shared: each figure is measured in ``--rounds`` interleaved rounds (every
client in each round, in ``SLICES`` alternating slices, so drift hits them alike); the table shows
medians with the spread
(min-max), and each ratio is the median of the per-round ratios. The goals (issue 10) are
printed next to the figures, never asserted.

Run: ``make bench`` (or ``.venv-bench/bin/python benchmarks/client_overhead.py [--quick]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import qianfan_chat
from _common import import_time, local_server, loopback_only, machine, table

MESSAGES = [{"role": "user", "content": "你好"}]
V2_KEY = "bce-v3/ALTAK-benchmark000000000000/0123456789abcdef0123456789abcdef01234567"
V2_MODEL = "ernie-lite-8k"
STREAM_PROMPT = "STREAM-1000"
STREAM_MESSAGES = [{"role": "user", "content": STREAM_PROMPT}]
# Test data for the local server: a 1,000-event scripted stream.
RULES = [{"contains": STREAM_PROMPT, "chunks": [f"第{i}句。" for i in range(1000)]}]
PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"
CONCURRENCY = 64


def token_for(base_url: str) -> str:
    params = {"grant_type": "client_credentials", "client_id": "bench-ak", "client_secret": "sk"}
    return str(httpx.post(base_url + "/oauth/2.0/token", params=params).json()["access_token"])


@dataclass(frozen=True)
class Wire:
    """One API version as raw HTTP: where to post, how to authorize, how to read the answer."""

    url: str
    params: dict[str, str] | None
    headers: dict[str, str]
    body: Callable[[list[dict[str, str]]], dict[str, Any]]
    answer: Callable[[Any], str]


def v1_wire(base_url: str, token: str) -> Wire:
    return Wire(
        base_url + PATH,
        {"access_token": token},
        {},
        lambda messages: {"messages": messages},
        lambda body: str(body["result"]),
    )


def v2_wire(base_url: str, key: str) -> Wire:
    return Wire(
        base_url + "/v2/chat/completions",
        None,
        {"Authorization": f"Bearer {key}"},
        lambda messages: {"model": V2_MODEL, "messages": messages},
        lambda body: str(body["choices"][0]["message"]["content"]),
    )


def _is_event(line: str) -> bool:
    return line.startswith("data:") and line[5:].strip() != "[DONE]"


Figure = tuple[float, float]  # seconds per call: (wall, this process's CPU)


class Clock:
    """Wall and CPU time from now. On a shared machine the client's CPU per call is the steadier
    figure: other processes' load stretches the wall time, not the client's own work."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def per_call(self, n: int) -> Figure:
        return ((time.perf_counter() - self.wall) / n, (time.process_time() - self.cpu) / n)


async def concurrently(one: Callable[[], Any], n: int, concurrency: int = CONCURRENCY) -> Figure:
    """Seconds per call of ``n`` calls of ``one``, ``concurrency`` in flight (after a warm-up
    round that opens the pool)."""
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(gated() for _ in range(concurrency)))
    clock = Clock()
    await asyncio.gather(*(gated() for _ in range(n)))
    return clock.per_call(n)


async def one_after_another(one: Callable[[], Any], n: int) -> Figure:
    await one()
    clock = Clock()
    for _ in range(n):
        await one()
    return clock.per_call(n)


def sequentially(one: Callable[[], Any], n: int) -> Figure:
    one()
    clock = Clock()
    for _ in range(n):
        one()
    return clock.per_call(n)


# -- raw: httpx (sync), aiohttp and httpx (async) ------------------------------------------------


def raw_sync(wire: Wire, n: int) -> Figure:
    body = wire.body(MESSAGES)
    with httpx.Client() as http:

        def one() -> None:
            reply = http.post(wire.url, params=wire.params, headers=wire.headers, json=body)
            assert wire.answer(reply.json())

        return sequentially(one, n)


def raw_stream(wire: Wire, n: int) -> Figure:
    body = {**wire.body(STREAM_MESSAGES), "stream": True}
    with httpx.Client() as http:

        def one() -> None:
            events = 0
            with http.stream(
                "POST", wire.url, params=wire.params, headers=wire.headers, json=body
            ) as r:
                for line in r.iter_lines():
                    if _is_event(line):
                        json.loads(line[5:])
                        events += 1
            assert events >= 1000

        return sequentially(one, n)


async def raw_httpx_async(wire: Wire, n: int) -> Figure:
    body = wire.body(MESSAGES)
    async with httpx.AsyncClient() as http:  # httpcore's pool, httpx's default limits

        async def one() -> None:
            reply = await http.post(wire.url, params=wire.params, headers=wire.headers, json=body)
            assert wire.answer(reply.json())

        return await concurrently(one, n)


async def raw_aiohttp_async(wire: Wire, n: int) -> Figure:
    import aiohttp

    data = json.dumps(wire.body(MESSAGES)).encode()
    headers = {**wire.headers, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with http.post(wire.url, params=wire.params, headers=headers, data=data) as r:
                assert wire.answer(json.loads(await r.read()))

        return await concurrently(one, n)


async def raw_aiohttp_stream(wire: Wire, n: int) -> Figure:
    import aiohttp

    data = json.dumps({**wire.body(STREAM_MESSAGES), "stream": True}).encode()
    headers = {**wire.headers, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            events = 0
            async with http.post(wire.url, params=wire.params, headers=headers, data=data) as r:
                async for raw in r.content:
                    line = raw.decode()
                    if _is_event(line):
                        json.loads(line[5:])
                        events += 1
            assert events >= 1000

        return await one_after_another(one, n)


# -- ours: qianfan_chat.ChatCompletion -----------------------------------------------------------


def ours_sync(chat: qianfan_chat.ChatCompletion, n: int) -> Figure:
    return sequentially(lambda: chat.do(MESSAGES).body, n)


def ours_stream(chat: qianfan_chat.ChatCompletion, n: int) -> Figure:
    def one() -> None:
        with chat.do(STREAM_MESSAGES, stream=True) as stream:
            assert sum(1 for _ in stream) >= 1000

    return sequentially(one, n)


async def ours_async(chat: qianfan_chat.ChatCompletion, n: int) -> Figure:
    async def one() -> None:
        assert (await chat.ado(MESSAGES)).body

    try:
        return await concurrently(one, n)
    finally:
        await chat.aclose()


async def ours_async_stream(chat: qianfan_chat.ChatCompletion, n: int) -> Figure:
    async def one() -> None:
        events = 0
        async with await chat.ado(STREAM_MESSAGES, stream=True) as stream:
            async for _ in stream:
                events += 1
        assert events >= 1000

    try:
        return await one_after_another(one, n)
    finally:
        await chat.aclose()


# -- the alternatives: Baidu's qianfan SDK (v1), openai (v2) --------------------------------------


def sdk_measures(n: int, n_async: int, n_stream: int) -> dict[str, Callable[[], Figure]]:
    try:
        import qianfan
    except ImportError:
        print("(qianfan SDK not installed: `make bench` installs it into .venv-bench)")
        return {}
    logging.getLogger("qianfan").setLevel(logging.ERROR)
    chat = qianfan.ChatCompletion()

    def per_call() -> Figure:
        return sequentially(lambda: chat.do(messages=MESSAGES)["result"], n)

    def run_async() -> Figure:
        async def main() -> Figure:
            # A fresh SDK object made inside this loop: reusing the sync one fails with
            # "attached to a different loop" (its rate limiter binds to the first loop it sees).
            achat = qianfan.ChatCompletion()

            async def one() -> None:
                assert (await achat.ado(messages=MESSAGES))["result"]

            return await concurrently(one, n_async)

        return asyncio.run(main())

    def stream() -> Figure:
        return sequentially(
            lambda: sum(1 for _ in chat.do(messages=STREAM_MESSAGES, stream=True)), n_stream
        )

    return {"per_call": per_call, "async": run_async, "stream": stream}


def openai_measures(
    base_url: str, n: int, n_async: int, n_stream: int
) -> dict[str, Callable[[], Figure]]:
    try:
        import openai
    except ImportError:
        print("(openai not installed: `make bench` installs it into .venv-bench)")
        return {}
    client = openai.OpenAI(api_key=V2_KEY, base_url=base_url + "/v2", max_retries=0)

    def per_call() -> Figure:
        create = client.chat.completions.create
        return sequentially(
            lambda: create(model=V2_MODEL, messages=MESSAGES).choices[0].message.content,
            n,  # type: ignore[arg-type]
        )

    def stream() -> Figure:
        def one() -> None:
            chunks = client.chat.completions.create(
                model=V2_MODEL,
                messages=STREAM_MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            assert sum(1 for _ in chunks) >= 1000

        return sequentially(one, n_stream)

    def run_async() -> Figure:
        async def main() -> Figure:
            async with openai.AsyncOpenAI(
                api_key=V2_KEY, base_url=base_url + "/v2", max_retries=0
            ) as aclient:

                async def one() -> None:
                    reply = await aclient.chat.completions.create(
                        model=V2_MODEL,
                        messages=MESSAGES,  # type: ignore[arg-type]
                    )
                    assert reply.choices[0].message.content

                return await concurrently(one, n_async)

        return asyncio.run(main())

    def async_stream() -> Figure:
        async def main() -> Figure:
            async with openai.AsyncOpenAI(
                api_key=V2_KEY, base_url=base_url + "/v2", max_retries=0
            ) as aclient:

                async def one() -> None:
                    events = 0
                    chunks = await aclient.chat.completions.create(
                        model=V2_MODEL,
                        messages=STREAM_MESSAGES,  # type: ignore[arg-type]
                        stream=True,
                    )
                    async for _ in chunks:
                        events += 1
                    assert events >= 1000

                return await one_after_another(one, n_stream)

        return asyncio.run(main())

    return {"per_call": per_call, "async": run_async, "stream": stream, "astream": async_stream}


# -- the run -------------------------------------------------------------------------------------

COLUMNS = ("raw", "raw httpx async", "ours", "alternative")
# Each round runs every column of a row in this many alternating slices (raw, ours, alt, raw,
# ours, alt, ...) and averages them: on a shared machine, load that comes and goes within a
# round then falls on every column alike instead of on whichever ran at that moment.
SLICES = 5


@dataclass
class Row:
    key: str
    label: str
    runs: dict[str, Callable[[], Figure]]


def rows_for(
    version: str, wire: Wire, chat: qianfan_chat.ChatCompletion, alt: dict[str, Any], sizes: Any
) -> list[Row]:
    n, n_async, n_stream = sizes
    rows = [
        Row(
            f"{version} per_call",
            f"{version} per call, sequential ({n * SLICES} calls)",
            {"raw": lambda: raw_sync(wire, n), "ours": lambda: ours_sync(chat, n)},
        ),
        Row(
            f"{version} async",
            f"{version} async, {CONCURRENCY} in flight ({n_async * SLICES} calls), per call",
            {
                "raw": lambda: asyncio.run(raw_aiohttp_async(wire, n_async)),
                "raw httpx async": lambda: asyncio.run(raw_httpx_async(wire, n_async)),
                "ours": lambda: asyncio.run(ours_async(chat, n_async)),
            },
        ),
        Row(
            f"{version} stream",
            f"{version} 1,000-event stream, sync",
            {
                "raw": lambda: raw_stream(wire, n_stream),
                "ours": lambda: ours_stream(chat, n_stream),
            },
        ),
        Row(
            f"{version} astream",
            f"{version} 1,000-event stream, async",
            {
                "raw": lambda: asyncio.run(raw_aiohttp_stream(wire, n_stream)),
                "ours": lambda: asyncio.run(ours_async_stream(chat, n_stream)),
            },
        ),
    ]
    for row in rows:
        name = row.key.split()[1]
        if name in alt:
            row.runs["alternative"] = alt[name]
    return rows


def spread(values: list[float], scale: float = 1e3) -> str:
    return (
        f"{statistics.median(values) * scale:.3f} "
        f"({min(values) * scale:.2f}-{max(values) * scale:.2f})"
    )


def ratio(num: list[float], den: list[float]) -> list[float]:
    return [a / b for a, b in zip(num, den, strict=True)]


def fmt_ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def results_table(labels: dict[str, str], samples: dict[str, dict[str, list[float]]]) -> str:
    head = ["measure", "raw", "ours", "ours/raw", "alternative", "alt/ours", "raw httpx async"]
    out = [head]
    for key, label in labels.items():
        s = samples[key]
        ours = s.get("ours")
        out.append(
            [
                label,
                spread(s["raw"]) if "raw" in s else "-",
                spread(ours) if ours else "-",
                fmt_ratio(ratio(ours, s["raw"])) if ours and "raw" in s else "-",
                spread(s["alternative"]) if "alternative" in s else "-",
                fmt_ratio(ratio(s["alternative"], ours)) if ours and "alternative" in s else "-",
                spread(s["raw httpx async"]) if "raw httpx async" in s else "-",
            ]
        )
    return table(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the calls, 3 rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--json", help="also write every sample to this JSON file")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rounds = 3 if args.quick else args.rounds
    if not 1 <= rounds <= 50:
        parser.error("--rounds must be in 1..50")
    sizes = (1000 // scale // SLICES, 3000 // scale // SLICES, max(30 // scale // SLICES, 1))
    loopback_only()

    # Limits far above what the run sends: Baidu's SDK throttles itself to the advertised
    # X-Ratelimit-Limit-Requests (the nominal 300 RPM would pace it at 5 calls a second).
    walls: dict[str, dict[str, list[float]]] = {}  # row -> column -> per-round figures
    cpus: dict[str, dict[str, list[float]]] = {}
    labels: dict[str, str] = {}
    with local_server(RULES, "--rpm", "100000000", "--tpm", "100000000000") as base_url:
        os.environ.update(
            QIANFAN_AK="bench-ak",
            QIANFAN_SK="bench-sk",
            QIANFAN_BASE_URL=base_url,
            QIANFAN_CONSOLE_API_BASE_URL=base_url,
            QIANFAN_IAM_BASE_URL=base_url,
        )
        token = token_for(base_url)
        v1 = qianfan_chat.ChatCompletion(base_url=base_url, access_token=token)
        v2 = qianfan_chat.ChatCompletion(base_url=base_url, api_key=V2_KEY, version=2)
        rows = [
            *rows_for("v1", v1_wire(base_url, token), v1, sdk_measures(*sizes), sizes),
            *rows_for(
                "v2", v2_wire(base_url, V2_KEY), v2, openai_measures(base_url, *sizes), sizes
            ),
        ]
        for row in rows:
            labels[row.key] = row.label
            walls[row.key] = {column: [] for column in row.runs}
            cpus[row.key] = {column: [] for column in row.runs}
        for number in range(rounds):
            for row in rows:
                sums: dict[str, list[float]] = {column: [0.0, 0.0] for column in row.runs}
                for _ in range(SLICES):
                    for column, run in list(row.runs.items()):
                        try:
                            wall, cpu = run()
                        except Exception as exc:  # report a baseline's failure, keep the rest
                            print(f"({row.key} {column} failed: {type(exc).__name__}: {exc})"[:200])
                            del row.runs[column]
                            sums.pop(column, None)
                            walls[row.key].pop(column, None)
                            cpus[row.key].pop(column, None)
                            continue
                        sums[column][0] += wall / SLICES
                        sums[column][1] += cpu / SLICES
                for column, (wall, cpu) in sums.items():
                    walls[row.key][column].append(wall)
                    cpus[row.key][column].append(cpu)
            print(f"(round {number + 1}/{rounds} done)", file=sys.stderr)
        v1.close()
        v2.close()

    # A core install (`pip install qianfan-chat`) is what a client user imports.
    core = os.environ.get("QIANFAN_BENCH_CORE_PYTHON", sys.executable)
    where = "core venv" if core != sys.executable else "this venv"
    imports = {
        "import httpx": import_time("import httpx", python=core),
        "import qianfan_chat": import_time("import qianfan_chat", python=core),
        "import qianfan_chat + ChatCompletion": import_time(
            "import qianfan_chat; qianfan_chat.ChatCompletion", python=core
        ),
    }
    try:
        imports["import qianfan"] = import_time("import qianfan")
    except Exception as exc:  # the SDK is not installed here: say so, keep the other rows
        print(f"(import qianfan failed: {type(exc).__name__})")

    print(machine())
    print(f"{rounds} rounds; ms per call, median (min-max); ratios: median of per-round ratios")
    for title, samples in (("wall time", walls), ("client CPU (this process)", cpus)):
        print(f"\n{title}:")
        print(results_table(labels, samples))
    print(
        "raw: httpx (sync rows), aiohttp ClientSession (async rows); alternative: Baidu's "
        "qianfan SDK (v1), openai.OpenAI / AsyncOpenAI (v2); alt/ours > 1: ours is faster"
    )
    print(f"\nimport time, {where}, median of 7 fresh interpreters:")
    for name, seconds in imports.items():
        print(f"  {name:<40}{seconds * 1e3:8.1f} ms")

    def med(key: str, num: str, den: str) -> float | None:
        s = walls.get(key, {})
        if num not in s or den not in s:
            return None
        return statistics.median(ratio(s[num], s[den]))

    goals: list[tuple[str, float | None, str, float]] = []
    for v in ("v1", "v2"):
        goals.append(
            (f"{v} ado 64 in flight / raw aiohttp", med(f"{v} async", "ours", "raw"), "<=", 1.5)
        )
        alt = "Baidu SDK" if v == "v1" else "openai.AsyncOpenAI"
        need = 2.0 if v == "v1" else 3.0
        goals.append(
            (f"{v} {alt} / ado 64 in flight", med(f"{v} async", "alternative", "ours"), ">=", need)
        )
        goals.append(
            (f"{v} do sequential / raw httpx", med(f"{v} per_call", "ours", "raw"), "<=", 1.05)
        )
        if v == "v2":
            goals.append(
                (
                    "v2 openai.OpenAI / do sequential",
                    med("v2 per_call", "alternative", "ours"),
                    ">=",
                    1.0,
                )
            )
        goals.append((f"{v} stream sync / raw", med(f"{v} stream", "ours", "raw"), "<=", 1.10))
        goals.append((f"{v} stream async / raw", med(f"{v} astream", "ours", "raw"), "<=", 1.10))
    root = imports["import qianfan_chat"]
    goals.append(("import qianfan_chat (ms)", root * 1e3, "<", 20.0))
    if "import qianfan" in imports:
        goals.append(
            ("import qianfan_chat / import qianfan", root / imports["import qianfan"], "<", 0.3)
        )
    print("\ngoals (issue 10), measured in this run:")
    for name, value, op, target in goals:
        if value is None:
            print(f"  {name:<44}{'-':>8}   goal {op} {target:g}   (not measured)")
            continue
        met = value <= target if op == "<=" else value >= target if op == ">=" else value < target
        print(f"  {name:<44}{value:8.2f}   goal {op} {target:g}   {'met' if met else 'NOT MET'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"wall": walls, "cpu": cpus, "imports": imports}, f, indent=2)


if __name__ == "__main__":
    main()
