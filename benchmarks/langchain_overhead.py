"""LangChain overhead: ``qianfan_chat.langchain.QianfanChatEndpoint`` against
langchain-community's ``QianfanChatEndpoint`` (Baidu's ``qianfan`` SDK underneath), on the same
local server, in one run.

Measured, for each stack:

* ``invoke``: sequential calls, time per call;
* ``ainvoke``: ``--concurrency`` calls at a time on one event loop, wall time per call;
* ``stream``: sequential streams read to the end (a scripted multi-chunk reply), time per call;
* import time in a fresh interpreter: the import alone, import + construction (the community
  class imports the ``qianfan`` SDK when constructed), and a cold first call.

The same call figures are measured on the v2 (OpenAI-compatible) API, for
``QianfanChatEndpoint`` with a v2 key and the v2 client alone: langchain-community's class has no
v2 (it drives the ``qianfan`` SDK's v1 ``ChatCompletion`` with AK/SK), so there is no baseline
column there; the v2 import figures (construction, cold first call) are ours alone too.

The server runs in its own process (so its work does not share the clients' GIL) and answers
with scripted TEST DATA. The ``qianfan_chat`` client alone (``ChatCompletion.do``) is measured
too, to show what the LangChain layer itself costs.

It needs both stacks in one environment, kept apart from the project's ``.venv``::

    python -m venv .venv-bench
    .venv-bench/bin/pip install -e ".[langchain,server]" langchain-community qianfan==0.4.12.3
    .venv-bench/bin/python benchmarks/langchain_overhead.py

Every loop is bounded (``--calls`` etc.) and traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

MODEL = "ERNIE-3.5-8K"
AK, SK = "bench-ak", "bench-sk"
V2_MODEL = "ernie-3.5-8k"
V2_KEY = "bce-v3/ALTAK-bench000000000000000/0123456789abcdef0123456789abcdef01234567"
PROMPT = "Hello"
STORY_PROMPT = "Tell me a story about a cat."
# TEST DATA: the scripted multi-chunk reply the stream benchmark reads (about 10 chunks).
STORY = (
    "从前有一只小猫，它住在一座安静的小镇上。每天清晨，它都会跳上窗台晒太阳。"
    "有一天，它发现了一只迷路的小鸟。小猫没有吓唬它，而是陪它等到了天亮。"
    "小鸟的妈妈终于找来了，它们一起向小猫道谢。从那以后，小镇上的人都说，"
    "这是一只最温柔的猫。故事讲完了，祝你晚安！"
)
SERVER_CODE = """
import json, sys
from qianfan_chat.server import LocalServer, ServerConfig
rules = [{"contains": "story about a cat", "text": json.loads(sys.argv[1])}]
# Limits far above what the benchmark sends: Baidu's rate-limit headers then tell the qianfan
# SDK (which throttles itself to them) a figure that never slows it down.
config = ServerConfig(rules=rules, stream_chunk_chars=16, rpm=10**8, tpm=10**12)
server = LocalServer(config).start()
print(server.base_url, flush=True)
sys.stdin.read()
server.stop()
"""


def loopback_only() -> None:
    """Refuse every connect to a non-loopback address in this interpreter: Baidu's SDK decides
    on its own what to fetch, and nothing of the benchmark may leave the machine. (The fresh
    interpreters of the import figures run this function's source too.)"""
    import socket

    def guard(connect: Any) -> Any:
        def guarded(self: socket.socket, address: Any) -> Any:
            host = address[0] if isinstance(address, tuple) else ""
            if isinstance(address, tuple) and not str(host).startswith(("127.", "::1", "local")):
                raise ConnectionRefusedError(f"benchmark guard: {host} is not loopback")
            return connect(self, address)

        return guarded

    socket.socket.connect = guard(socket.socket.connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = guard(socket.socket.connect_ex)  # type: ignore[method-assign]


IMPORTS = {
    "qianfan_chat": "from qianfan_chat.langchain import QianfanChatEndpoint",
    "community": "from langchain_community.chat_models import QianfanChatEndpoint",
}
CONSTRUCT = f"QianfanChatEndpoint(model={MODEL!r})"
FIRST_CALL = f"QianfanChatEndpoint(model={MODEL!r}).invoke({PROMPT!r})"
# v2: the key alone chooses the v2 API (QIANFAN_CONSOLE_API_BASE_URL points at the server).
V2_CONSTRUCT = f"QianfanChatEndpoint(model={V2_MODEL!r}, api_key={V2_KEY!r})"
V2_FIRST_CALL = f"{V2_CONSTRUCT}.invoke({PROMPT!r})"


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, json.dumps(STORY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError("the local server did not start")
    return proc, base_url


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fresh_interpreter_seconds(code: str, env: dict[str, str], setup: str = "") -> float:
    """Wall time of ``code`` in a new interpreter, after ``setup`` (not timed; the
    interpreter's own start-up is not timed either)."""
    timed = (
        "from typing import Any\n"
        f"{inspect.getsource(loopback_only)}\n"
        "loopback_only()\n"
        "import time, warnings, logging\n"
        "warnings.simplefilter('ignore')\n"
        "logging.disable(logging.WARNING)\n"
        f"{setup}\n"
        "t = time.perf_counter()\n"
        f"{code}\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", timed], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


Figure = dict[str, float]  # {"wall": seconds per call, "cpu": this process's CPU s per call}


def per_call(fn: Callable[[], Any], calls: int, warmup: int) -> Figure:
    for _ in range(warmup):
        fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return {
        "wall": (time.perf_counter() - wall) / calls,
        "cpu": (time.process_time() - cpu) / calls,
    }


def per_call_concurrent(make: Callable[[], Any], calls: int, concurrency: int) -> Figure:
    async def main() -> Figure:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await make()

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm-up: open the pool
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(calls)))
        return {
            "wall": (time.perf_counter() - wall) / calls,
            "cpu": (time.process_time() - cpu) / calls,
        }

    return asyncio.run(main())


def stacks(base_url: str) -> dict[str, Any]:
    from langchain_community.chat_models import QianfanChatEndpoint as CommunityChat

    from qianfan_chat import ChatCompletion
    from qianfan_chat.langchain import QianfanChatEndpoint

    ours = QianfanChatEndpoint(model=MODEL, base_url=base_url, api_key=AK, secret_key=SK)
    theirs = CommunityChat(model=MODEL, api_key=AK, secret_key=SK)  # QIANFAN_BASE_URL
    client = ChatCompletion(model=MODEL, base_url=base_url, ak=AK, sk=SK)
    ours_v2 = QianfanChatEndpoint(model=V2_MODEL, base_url=base_url, api_key=V2_KEY)
    client_v2 = ChatCompletion(V2_MODEL, version=2, base_url=base_url, api_key=V2_KEY)
    if ours_v2.resolved_api_version != "v2" or client_v2.version != 2:
        raise RuntimeError("the v2 stacks do not speak v2")
    stacks = {
        "qianfan_chat": ours,
        "community": theirs,
        "client": client,
        "qianfan_chat v2": ours_v2,
        "client v2": client_v2,
    }
    try:  # what a LangChain user would pick for an OpenAI-compatible API: the v2 baseline
        import openai
        from langchain_openai import ChatOpenAI

        # Its own async client per round: langchain-openai's default one is cached for the
        # process, and each round's ainvoke runs in a new event loop (asyncio.run).
        stacks["ChatOpenAI v2"] = ChatOpenAI(
            model=V2_MODEL,
            base_url=base_url + "/v2",
            api_key=V2_KEY,
            max_retries=0,
            http_async_client=openai.DefaultAsyncHttpxClient(),
        )
    except ImportError:
        print("(langchain-openai not installed: `make bench` installs it into .venv-bench)")
    return stacks


def check_replies(models: dict[str, Any]) -> None:
    """Every stack gets the same answers from the server before anything is timed."""
    for name, chat in models.items():
        reply = chat.invoke(PROMPT).content
        streamed = "".join(str(c.content) for c in chat.stream(STORY_PROMPT))
        if reply != "您好！有什么我可以帮助您的吗？" or streamed != STORY:
            raise RuntimeError(f"{name}: unexpected replies {reply!r} / {streamed[:40]!r}")


def _client_stream(client: Any) -> None:
    with client.do([{"role": "user", "content": STORY_PROMPT}], stream=True) as stream:
        for _ in stream:
            pass


def measure_rounds(args: argparse.Namespace, base_url: str) -> dict[str, dict[str, Figure]]:
    """``--rounds`` runs of :func:`measure`; each figure is the median of its rounds (the
    machine may be shared: other load stretches one round, not the median)."""
    runs = [measure(args, base_url) for _ in range(args.rounds)]
    return {
        stack: {
            key: {
                kind: statistics.median(run[stack][key][kind] for run in runs)
                for kind in ("wall", "cpu")
            }
            for key in figures
        }
        for stack, figures in runs[0].items()
    }


def measure(args: argparse.Namespace, base_url: str) -> dict[str, dict[str, Figure]]:
    every = stacks(base_url)
    clients = {name: every.pop(name) for name in ("client", "client v2")}
    models = every  # the LangChain models: qianfan_chat, community, qianfan_chat v2
    results: dict[str, dict[str, Figure]] = {name: {} for name in (*models, *clients)}
    hello = [{"role": "user", "content": PROMPT}]
    # ainvoke first: after any sync call, the qianfan SDK's async rate limiter is bound to
    # another event loop and concurrent ainvoke fails ("attached to a different loop").
    for name, chat in models.items():
        results[name]["ainvoke"] = per_call_concurrent(
            lambda chat=chat: chat.ainvoke(PROMPT), args.calls, args.concurrency
        )
    for name, client in clients.items():
        results[name]["ainvoke"] = per_call_concurrent(
            lambda client=client: client.ado(hello), args.calls, args.concurrency
        )
    check_replies(models)
    for name, chat in models.items():
        results[name]["invoke"] = per_call(lambda chat=chat: chat.invoke(PROMPT), args.calls, 5)
    for name, client in clients.items():
        results[name]["invoke"] = per_call(lambda client=client: client.do(hello), args.calls, 5)
    for name, chat in models.items():
        results[name]["stream"] = per_call(
            lambda chat=chat: list(chat.stream(STORY_PROMPT)), args.stream_calls, 3
        )
    for name, client in clients.items():
        results[name]["stream"] = per_call(
            lambda client=client: _client_stream(client), args.stream_calls, 3
        )
    return results


CORE = "import langchain_core.language_models.chat_models, langchain_core.messages"
IMPORT_FIGURES = {
    # name: (code after the import statement, setup before it)
    "import": ("", ""),
    "import+construct": (CONSTRUCT, ""),
    "cold first call": (FIRST_CALL, ""),
    # The same, with langchain-core (which both classes subclass) already loaded.
    "own import": ("", CORE),
    "own import+construct": (CONSTRUCT, CORE),
}
# v2, ours only (the community class has no v2).
V2_IMPORT_FIGURES = {
    "v2 import+construct": (V2_CONSTRUCT, ""),
    "v2 cold first call": (V2_FIRST_CALL, ""),
}


def measure_imports(args: argparse.Namespace, base_url: str) -> dict[str, dict[str, float]]:
    """Median over ``--import-runs`` fresh interpreters; the two stacks alternate, so that
    neither gets the warmer disk cache."""
    env = {**os.environ, "QIANFAN_BASE_URL": base_url, "QIANFAN_AK": AK, "QIANFAN_SK": SK}
    env["QIANFAN_CONSOLE_API_BASE_URL"] = base_url  # the v2 base URL
    samples: dict[str, dict[str, list[float]]] = {
        name: {figure: [] for figure in IMPORT_FIGURES} for name in IMPORTS
    }
    samples["qianfan_chat"].update({figure: [] for figure in V2_IMPORT_FIGURES})
    for _ in range(args.import_runs):
        for figure, (code, setup) in IMPORT_FIGURES.items():
            for name, statement in IMPORTS.items():
                seconds = fresh_interpreter_seconds(f"{statement}\n{code}", env, setup)
                samples[name][figure].append(seconds)
        for figure, (code, setup) in V2_IMPORT_FIGURES.items():
            statement = IMPORTS["qianfan_chat"]
            seconds = fresh_interpreter_seconds(f"{statement}\n{code}", env, setup)
            samples["qianfan_chat"][figure].append(seconds)
    return {
        name: {figure: statistics.median(values) for figure, values in figures.items()}
        for name, figures in samples.items()
    }


def report(calls: dict[str, dict[str, Figure]], imports: dict[str, dict[str, float]]) -> str:
    head = f"{'':<32}{'qianfan_chat':>13}{'community':>13}{'speed-up':>10}{'client':>10}"
    lines = [head, "-" * len(head)]
    for key in ("invoke", "ainvoke", "stream"):
        for kind in ("wall", "cpu"):
            ours, theirs = calls["qianfan_chat"][key][kind], calls["community"][key][kind]
            client = calls["client"][key][kind]
            label = f"{key} {'wall' if kind == 'wall' else 'client CPU'} (ms/call)"
            lines.append(
                f"{label:<32}{ours * 1e3:>13.3f}{theirs * 1e3:>13.3f}{theirs / ours:>9.1f}x"
                f"{client * 1e3:>10.3f}"
            )
    lines.append("-" * len(head))
    for key in IMPORT_FIGURES:
        ours, theirs = imports["qianfan_chat"][key], imports["community"][key]
        lines.append(
            f"{key + ' (ms)':<32}{ours * 1e3:>13.1f}{theirs * 1e3:>13.1f}{theirs / ours:>9.1f}x"
        )
    lines.append("-" * len(head))
    lines.append(
        "v2 API (OpenAI-compatible; the community class has no v2): the baseline column is "
        "langchain_openai.ChatOpenAI on the same server"
    )
    for key in ("invoke", "ainvoke", "stream"):
        for kind in ("wall", "cpu"):
            ours = calls["qianfan_chat v2"][key][kind]
            client = calls["client v2"][key][kind]
            label = f"v2 {key} {'wall' if kind == 'wall' else 'client CPU'} (ms/call)"
            other = calls.get("ChatOpenAI v2", {}).get(key, {}).get(kind)
            if other is None:
                lines.append(
                    f"{label:<32}{ours * 1e3:>13.3f}{'-':>13}{'-':>10}{client * 1e3:>10.3f}"
                )
            else:
                lines.append(
                    f"{label:<32}{ours * 1e3:>13.3f}{other * 1e3:>13.3f}{other / ours:>9.1f}x"
                    f"{client * 1e3:>10.3f}"
                )
    for key in V2_IMPORT_FIGURES:
        ours = imports["qianfan_chat"][key]
        lines.append(f"{key + ' (ms)':<32}{ours * 1e3:>13.1f}{'-':>13}{'-':>10}")
    lines.append("-" * len(head))
    lines.append(
        "client: qianfan_chat.ChatCompletion alone (do/ado), for what the LangChain layer adds "
        "(v2 rows: ChatCompletion(version=2))."
    )
    lines.append(
        "goals (issue 10, wall): ainvoke at --concurrency in flight >= 2x community: "
        + _goal(calls, "community", "qianfan_chat", "ainvoke", 2.0)
        + "; v2 invoke / ainvoke / stream >= 1.5x ChatOpenAI: "
        + ", ".join(
            _goal(calls, "ChatOpenAI v2", "qianfan_chat v2", key, 1.5)
            for key in ("invoke", "ainvoke", "stream")
        )
    )
    lines.append(
        "'own' imports: langchain-core (which both classes subclass) already loaded; the "
        "community class imports the qianfan SDK when constructed."
    )
    return "\n".join(lines)


def _goal(
    calls: dict[str, dict[str, Figure]], theirs: str, ours: str, key: str, need: float
) -> str:
    if theirs not in calls:
        return f"{key} -"
    speedup = calls[theirs][key]["wall"] / calls[ours][key]["wall"]
    return f"{key} {speedup:.1f}x ({'met' if speedup >= need else 'NOT MET'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="invoke/ainvoke calls per stack")
    parser.add_argument("--stream-calls", type=int, default=150, help="streams per stack")
    parser.add_argument("--concurrency", type=int, default=16, help="ainvoke calls in flight")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh interpreters per figure")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the call figures")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    for name in ("calls", "stream_calls", "concurrency", "import_runs", "rounds"):
        if not 1 <= getattr(args, name) <= 10_000:
            parser.error(f"--{name.replace('_', '-')} must be in 1..10000")

    loopback_only()
    warnings.simplefilter("ignore")  # langchain-community's sunset notice, qianfan's notes
    proc, base_url = start_server()
    os.environ.update({"QIANFAN_BASE_URL": base_url, "QIANFAN_AK": AK, "QIANFAN_SK": SK})
    try:
        import qianfan  # the community stack's SDK logs every token refresh at INFO

        qianfan.disable_log()
        logging.getLogger("qianfan").setLevel(logging.WARNING)
        calls = measure_rounds(args, base_url)
        imports = measure_imports(args, base_url)
    finally:
        stop_server(proc)
    print(f"Python {sys.version.split()[0]}, server {base_url} (own process)")
    print(report(calls, imports))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"calls": calls, "imports": imports}, f, indent=2)


if __name__ == "__main__":
    main()
