"""Client overhead: qianfan-chat against raw httpx and Baidu's ``qianfan`` SDK, one run.

All three talk to the same local Qianfan server (a subprocess, so it has its own core) over
loopback:

* per call: 1,000 sequential non-streaming calls;
* async throughput: 5,000 calls, 64 at a time;
* stream consumption: 1,000-event streams, read to the end;
* import time, in a fresh interpreter.

(a) raw httpx doing the same HTTP (token in the query, JSON body, parse the reply);
(b) qianfan-chat; (c) ``qianfan`` 0.4.12.3 pointed at the server with ``QIANFAN_BASE_URL``
(installed only for benchmarks: ``make bench``; v1 rows only). Rows for v1 and for v2.
Prints b/a and b/c (lower is better for b).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import qianfan_chat
from _common import best_of, import_time, local_server, loopback_only, table

MESSAGES = [{"role": "user", "content": "你好"}]
V2_KEY = "bce-v3/ALTAK-benchmark000000000000/0123456789abcdef0123456789abcdef01234567"
STREAM_PROMPT = "STREAM-1000"
# Test data for the local server: a 1,000-event scripted stream.
RULES = [{"contains": STREAM_PROMPT, "chunks": [f"第{i}句。" for i in range(1000)]}]
PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"


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
        lambda messages: {"model": "ernie-lite-8k", "messages": messages},
        lambda body: str(body["choices"][0]["message"]["content"]),
    )


# -- (a) raw httpx -------------------------------------------------------------------------


def raw_sync(wire: Wire, n: int) -> float:
    with httpx.Client() as http:
        body = wire.body(MESSAGES)
        http.post(wire.url, params=wire.params, headers=wire.headers, json=body).json()
        start = time.perf_counter()
        for _ in range(n):
            reply = http.post(wire.url, params=wire.params, headers=wire.headers, json=body)
            assert wire.answer(reply.json())
        return (time.perf_counter() - start) / n


async def raw_async(wire: Wire, n: int, concurrency: int) -> float:
    async with httpx.AsyncClient() as http:  # the same default pool limits as ours
        gate = asyncio.Semaphore(concurrency)
        body = wire.body(MESSAGES)

        async def one() -> None:
            async with gate:
                reply = await http.post(
                    wire.url, params=wire.params, headers=wire.headers, json=body
                )
                assert wire.answer(reply.json())

        await asyncio.gather(*(one() for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return (time.perf_counter() - start) / n


def raw_stream(wire: Wire, n: int) -> float:
    body = {**wire.body([{"role": "user", "content": STREAM_PROMPT}]), "stream": True}
    with httpx.Client() as http:
        start = time.perf_counter()
        for _ in range(n):
            events = 0
            with http.stream(
                "POST", wire.url, params=wire.params, headers=wire.headers, json=body
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("data:") and line[5:].strip() != "[DONE]":
                        json.loads(line[5:])
                        events += 1
            assert events >= 1000
        return (time.perf_counter() - start) / n


# -- (b) qianfan-chat ------------------------------------------------------------------------


def ours_sync(chat: qianfan_chat.ChatCompletion, n: int) -> float:
    chat.do(MESSAGES)
    start = time.perf_counter()
    for _ in range(n):
        assert chat.do(MESSAGES).body
    return (time.perf_counter() - start) / n


async def ours_async(chat: qianfan_chat.ChatCompletion, n: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            assert (await chat.ado(MESSAGES)).body

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


Measure = tuple[Callable[[], float], Callable[[], float]]


def measures(
    wire: Wire, chat: qianfan_chat.ChatCompletion, n: int, n_async: int, n_stream: int
) -> dict[str, Measure]:
    """(raw httpx, qianfan-chat) runs of each measure, for one API version."""
    concurrency = 64
    return {
        "per_call": (lambda: raw_sync(wire, n), lambda: ours_sync(chat, n)),
        "async": (
            lambda: asyncio.run(raw_async(wire, n_async, concurrency)),
            lambda: asyncio.run(ours_async(chat, n_async, concurrency)),
        ),
        "stream": (lambda: raw_stream(wire, n_stream), lambda: ours_stream(chat, n_stream)),
    }


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
        a: dict[str, float] = {}
        b: dict[str, float] = {}
        versions = [
            ("v1", v1_wire(base_url, token), {"access_token": token}),
            ("v2", v2_wire(base_url, V2_KEY), {"api_key": V2_KEY, "version": 2}),
        ]
        for version, wire, creds in versions:
            chat = qianfan_chat.ChatCompletion(base_url=base_url, **creds)
            for name, (raw, ours) in measures(wire, chat, n, n_async, n_stream).items():
                # Three rounds each, medians: drift in the machine hits a and b alike.
                a[f"{version} {name}"] = best_of(3, raw)
                b[f"{version} {name}"] = best_of(3, ours)
            chat.close()
        c = {f"v1 {k}": v for k, v in sdk_runs(base_url, n, n_async, concurrency, n_stream).items()}

    # A core install (`pip install qianfan-chat`: httpx only) is what a client user imports.
    # In a venv with click and rich (our CLI extra), httpx imports them for its own CLI.
    core = os.environ.get("QIANFAN_BENCH_CORE_PYTHON", sys.executable)
    a["import"] = import_time("import httpx", python=core)
    b["import"] = import_time("import qianfan_chat; qianfan_chat.ChatCompletion", python=core)
    b["import_root"] = import_time("import qianfan_chat", python=core)
    try:
        c["import"] = import_time("import qianfan")
    except Exception as exc:  # the SDK is not installed here: say so, keep the other rows
        print(f"(import qianfan failed: {type(exc).__name__})")

    labels = {}
    for version in ("v1", "v2"):
        labels[f"{version} per_call"] = f"{version} per call, sequential ({n} calls)"
        labels[f"{version} async"] = (
            f"{version} async, {concurrency} concurrent ({n_async} calls), per call"
        )
        labels[f"{version} stream"] = f"{version} one 1,000-event stream, read to the end"
    where = "core venv" if core != sys.executable else "this venv"
    labels["import"] = f"import, {where} (a: httpx; b: qianfan_chat + ChatCompletion; c: qianfan)"
    labels["import_root"] = f"import, {where} (b: `import qianfan_chat` alone; c: qianfan)"
    c["import_root"] = c.get("import", 0.0)
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
