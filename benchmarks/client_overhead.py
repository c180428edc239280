"""Client overhead: qianfan-chat against raw httpx and Baidu's ``qianfan`` SDK, one run.

All three talk to the same local Qianfan server (a subprocess, so it has its own core) over
loopback:

* per call: 1,000 sequential non-streaming calls;
* async throughput: 5,000 calls, 64 at a time;
* stream consumption: 1,000-event streams, read to the end;
* import time, in a fresh interpreter.

(a) raw httpx doing the same HTTP (token in the query, JSON body, parse the reply);
(b) qianfan-chat; (c) ``qianfan`` 0.4.12.3 pointed at the server with ``QIANFAN_BASE_URL``
(installed only for benchmarks: ``make bench``). Prints b/a and b/c (lower is better for b).
Goals: b/a <= 1.15 per call and for async throughput; import <= 1/3 of ``import qianfan``.

Run: ``make bench`` (or ``.venv-bench/bin/python benchmarks/client_overhead.py [--quick]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import qianfan_chat
from _common import best_of, import_time, local_server, loopback_only, table

MESSAGES = [{"role": "user", "content": "你好"}]
STREAM_PROMPT = "STREAM-1000"
# Test data for the local server: a 1,000-event scripted stream.
RULES = [{"contains": STREAM_PROMPT, "chunks": [f"第{i}句。" for i in range(1000)]}]
PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"


def token_for(base_url: str) -> str:
    params = {"grant_type": "client_credentials", "client_id": "bench-ak", "client_secret": "sk"}
    return str(httpx.post(base_url + "/oauth/2.0/token", params=params).json()["access_token"])


# -- (a) raw httpx -------------------------------------------------------------------------


def raw_sync(base_url: str, token: str, n: int) -> float:
    with httpx.Client() as http:
        url, params = base_url + PATH, {"access_token": token}
        http.post(url, params=params, json={"messages": MESSAGES}).json()
        start = time.perf_counter()
        for _ in range(n):
            body = http.post(url, params=params, json={"messages": MESSAGES}).json()
            assert body["result"]
        return (time.perf_counter() - start) / n


async def raw_async(base_url: str, token: str, n: int, concurrency: int) -> float:
    async with httpx.AsyncClient() as http:  # the same default pool limits as ours
        url, params = base_url + PATH, {"access_token": token}
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                body = (await http.post(url, params=params, json={"messages": MESSAGES})).json()
                assert body["result"]

        await asyncio.gather(*(one() for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return (time.perf_counter() - start) / n


def raw_stream(base_url: str, token: str, n: int) -> float:
    body = {"messages": [{"role": "user", "content": STREAM_PROMPT}], "stream": True}
    with httpx.Client() as http:
        start = time.perf_counter()
        for _ in range(n):
            events = 0
            with http.stream(
                "POST", base_url + PATH, params={"access_token": token}, json=body
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        json.loads(line[5:])
                        events += 1
            assert events >= 1000
        return (time.perf_counter() - start) / n


# -- (b) qianfan-chat ------------------------------------------------------------------------


def ours_sync(chat: qianfan_chat.ChatCompletion, n: int) -> float:
    chat.do(MESSAGES)
    start = time.perf_counter()
    for _ in range(n):
        assert chat.do(MESSAGES)["result"]
    return (time.perf_counter() - start) / n


async def ours_async(chat: qianfan_chat.ChatCompletion, n: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            assert (await chat.ado(MESSAGES))["result"]

    await asyncio.gather(*(one() for _ in range(concurrency)))
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed = (time.perf_counter() - start) / n
    await chat.aclose()
    return elapsed


def ours_stream(chat: qianfan_chat.ChatCompletion, n: int) -> float:
    messages = [{"role": "user", "content": STREAM_PROMPT}]
    start = time.perf_counter()
    for _ in range(n):
        with chat.do(messages, stream=True) as stream:
            assert sum(1 for _ in stream) >= 1000
    return (time.perf_counter() - start) / n


# -- (c) Baidu's qianfan SDK -------------------------------------------------------------------


def sdk_runs(
    base_url: str, n: int, n_async: int, concurrency: int, n_stream: int
) -> dict[str, float]:
    try:
        import qianfan
    except ImportError:
        print("(qianfan SDK not installed: `make bench` installs it into .venv-bench)")
        return {}
    logging.getLogger("qianfan").setLevel(logging.ERROR)
    chat = qianfan.ChatCompletion()
    chat.do(messages=MESSAGES)
    start = time.perf_counter()
    for _ in range(n):
        assert chat.do(messages=MESSAGES)["result"]
    per_call = (time.perf_counter() - start) / n

    async def run_async() -> float:
        # A fresh SDK object made inside this loop: reusing the sync one fails with
        # "attached to a different loop" (its rate limiter binds to the first loop it sees).
        achat = qianfan.ChatCompletion()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                assert (await achat.ado(messages=MESSAGES))["result"]

        await asyncio.gather(*(one() for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n_async)))
        return (time.perf_counter() - start) / n_async

    try:
        async_per_call: float | None = asyncio.run(run_async())
    except Exception as exc:  # report the SDK's failure rather than hide the row
        print(f"(qianfan SDK ado failed: {type(exc).__name__}: {exc})"[:200])
        async_per_call = None
    messages = [{"role": "user", "content": STREAM_PROMPT}]
    start = time.perf_counter()
    for _ in range(n_stream):
        assert sum(1 for _ in chat.do(messages=messages, stream=True)) >= 1000
    stream = (time.perf_counter() - start) / n_stream
    out = {"per_call": per_call, "stream": stream}
    if async_per_call is not None:
        out["async"] = async_per_call
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the calls")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    n, n_async, n_stream, concurrency = 1000 // scale, 5000 // scale, 50 // scale, 64
    loopback_only()

    # Limits far above what the run sends: Baidu's SDK throttles itself to the advertised
    # X-Ratelimit-Limit-Requests (the nominal 300 RPM would pace it at 5 calls a second).
    with local_server(RULES, "--rpm", "100000000", "--tpm", "100000000000") as base_url:
        os.environ.update(
            QIANFAN_AK="bench-ak",
            QIANFAN_SK="bench-sk",
            QIANFAN_BASE_URL=base_url,
            QIANFAN_CONSOLE_API_BASE_URL=base_url,
            QIANFAN_IAM_BASE_URL=base_url,
        )
        token = token_for(base_url)
        results: dict[str, dict[str, float]] = {"raw httpx (a)": {}, "qianfan-chat (b)": {}}
        a, b = results["raw httpx (a)"], results["qianfan-chat (b)"]
        chat = qianfan_chat.ChatCompletion(base_url=base_url, access_token=token)
        runs: list[tuple[str, Callable[[], float], Callable[[], float]]] = [
            ("per_call", lambda: raw_sync(base_url, token, n), lambda: ours_sync(chat, n)),
            (
                "async",
                lambda: asyncio.run(raw_async(base_url, token, n_async, concurrency)),
                lambda: asyncio.run(ours_async(chat, n_async, concurrency)),
            ),
            (
                "stream",
                lambda: raw_stream(base_url, token, n_stream),
                lambda: ours_stream(chat, n_stream),
            ),
        ]
        for name, raw, ours in runs:
            # Interleave a and b, three rounds each, so drift in the machine hits both alike.
            a[name] = best_of(3, raw)
            b[name] = best_of(3, ours)
        chat.close()
        c = sdk_runs(base_url, n, n_async, concurrency, n_stream)

    a["import"] = import_time("import httpx")
    b["import"] = import_time("import qianfan_chat; qianfan_chat.ChatCompletion")
    try:
        c["import"] = import_time("import qianfan")
    except Exception as exc:  # the SDK is not installed here: say so, keep the other rows
        print(f"(import qianfan failed: {type(exc).__name__})")

    labels = {
        "per_call": f"per call, sequential ({n} calls)",
        "async": f"async, {concurrency} concurrent ({n_async} calls), per call",
        "stream": "one 1,000-event stream, read to the end",
        "import": "import (a: httpx alone; b: qianfan_chat + ChatCompletion; c: qianfan)",
    }
    rows = [["measure", "(a) raw httpx", "(b) qianfan-chat", "(c) qianfan SDK", "b/a", "b/c"]]
    for key, label in labels.items():
        av, bv, cv = a.get(key), b.get(key), c.get(key)
        rows.append(
            [
                label,
                f"{av * 1e3:.3f} ms" if av else "-",
                f"{bv * 1e3:.3f} ms" if bv else "-",
                f"{cv * 1e3:.3f} ms" if cv else "-",
                f"{bv / av:.2f}" if av and bv else "-",
                f"{bv / cv:.2f}" if cv and bv else "-",
            ]
        )
    print(table(rows))
    print("\ngoals: b/a <= 1.15 for per call and async; import b/c <= 0.33")


if __name__ == "__main__":
    main()
