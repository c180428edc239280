"""Throughput of the local Qianfan server against a bare Starlette/uvicorn JSON endpoint.

Both servers run as subprocesses, one process each, with the same uvicorn settings (HTTP
protocol class, no lifespan, no websockets, warning logs, no access log), so the load
generator (``_load.py``, raw asyncio sockets, keep-alive) has its own core. Scenarios: a plain
v1 chat call and a streamed one, and the same two on the v2 (OpenAI-compatible) route with a
Bearer key (the bare endpoint answers a reply of the same shape and streams as many SSE events
of the same size, ``[DONE]`` included). The rounds alternate between the servers; the best
round of each is reported, with the server process's CPU use (near 100 %: the server, not the
generator, is the bottleneck).

    python benchmarks/server_throughput.py [--duration 4] [--connections 32] [--rounds 2]

Goal: ours >= 0.5 x bare in every scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from _load import LoadResult, build_request, run_load

HOST = "127.0.0.1"
TOKEN = "bench-token"
PROMPT = "你好，请用两句话介绍一下千帆大模型平台。"
CHAT_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"
BODY = json.dumps({"messages": [{"role": "user", "content": PROMPT}]}, ensure_ascii=False)
STREAM_BODY = json.dumps(
    {"messages": [{"role": "user", "content": PROMPT}], "stream": True}, ensure_ascii=False
)
V2_PATH = "/v2/chat/completions"
V2_HEADERS = "Authorization: Bearer bce-v3/ALTAK-bench/0123456789abcdef0123456789abcdef01234567\r\n"
V2_BODY = json.dumps(
    {"model": "ernie-3.5-8k", "messages": [{"role": "user", "content": PROMPT}]},
    ensure_ascii=False,
)
V2_STREAM_BODY = json.dumps(
    {
        "model": "ernie-3.5-8k",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    },
    ensure_ascii=False,
)
SCENARIOS = ("v1 plain", "v1 stream", "v2 plain", "v2 stream")


# --- The servers (run in subprocesses) -------------------------------------------------------


def _bare_app(events: int, v2_events: int) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    reply = {
        "id": "as-0123456789",
        "object": "chat.completion",
        "created": 1700000000,
        "result": f"您说的是：「{PROMPT}」。这是千帆本地测试服务器的脚本回复。",
        "is_truncated": False,
        "need_clear_history": False,
        "finish_reason": "normal",
        "usage": {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60},
    }
    chunk = json.dumps({**reply, "sentence_id": 0, "is_end": False}, ensure_ascii=False)
    event = f"data: {chunk}\n\n".encode()
    v2_reply = {
        "id": "as-0123456789",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "ernie-3.5-8k",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply["result"]},
                "finish_reason": "stop",
                "flag": 0,
                "ban_round": -1,
            }
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 40,
            "total_tokens": 60,
            "prompt_tokens_details": {"search_tokens": 0, "cached_tokens": 0},
        },
    }
    v2_chunk = {
        "id": "as-0123456789",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "ernie-3.5-8k",
        "choices": [
            {
                "index": 0,
                "delta": {"content": "您说的是：「你好，请用两句话介绍一下千帆大模型平台。"},
                "finish_reason": None,
                "flag": 0,
                "ban_round": -1,
            }
        ],
        "usage": None,
    }
    v2_event = f"data: {json.dumps(v2_chunk, ensure_ascii=False)}\n\n".encode()

    async def chat(request: Request) -> Response:
        await request.body()
        return JSONResponse(reply)

    async def stream(request: Request) -> Response:
        await request.body()

        async def body() -> Any:
            for _ in range(events):
                yield event

        return StreamingResponse(body(), media_type="text/event-stream")

    async def chat2(request: Request) -> Response:
        await request.body()
        return JSONResponse(v2_reply)

    async def stream2(request: Request) -> Response:
        await request.body()

        async def body() -> Any:
            for _ in range(v2_events - 1):
                yield v2_event
            yield b"data: [DONE]\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/chat", chat, methods=["POST"]),
            Route("/stream", stream, methods=["POST"]),
            Route("/chat2", chat2, methods=["POST"]),
            Route("/stream2", stream2, methods=["POST"]),
        ]
    )


def serve(kind: str, events: int, v2_events: int) -> None:
    """Run one server on a free port; print ``PORT <n>`` once it is bound."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from qianfan_chat.server import ServerConfig, ServerState, create_app
    from qianfan_chat.server.connections import protocol_class

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    if kind == "ours":
        state = ServerState(ServerConfig(access_tokens=[TOKEN]))
        app, http = create_app(state=state), protocol_class(state.connections)
    else:
        app, http = _bare_app(events, v2_events), AutoHTTPProtocol
    config = uvicorn.Config(
        app,
        http=http,
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    print(f"PORT {sock.getsockname()[1]} {http.__mro__[1 if kind == 'ours' else 0].__name__}")
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[sock])


# --- The benchmark (parent process) ----------------------------------------------------------


class Server:
    def __init__(self, kind: str, events: int = 0, v2_events: int = 0) -> None:
        command = [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--events",
            str(events),
            "--v2-events",
            str(v2_events),
        ]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "PORT":
            raise RuntimeError(f"{kind} server failed to start")
        self.port = int(line[1])
        self.protocol = line[2]
        self.kind = kind

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def count_events(port: int) -> tuple[int, int]:
    """How many SSE events our server sends for the benchmark prompt, v1 and v2 (``[DONE]``
    included), by a one-off probe of each."""
    import httpx

    url = f"http://{HOST}:{port}{CHAT_PATH}"
    v1 = httpx.post(url, params={"access_token": TOKEN}, content=STREAM_BODY.encode(), timeout=10)
    name, value = V2_HEADERS.strip().split(": ", 1)
    v2 = httpx.post(
        f"http://{HOST}:{port}{V2_PATH}",
        headers={name: value, "Content-Type": "application/json"},
        content=V2_STREAM_BODY.encode(),
        timeout=10,
    )
    return v1.text.count("data: "), v2.text.count("data: ")


def measure(
    server: Server, request: bytes, args: argparse.Namespace
) -> tuple[LoadResult, float, float]:
    """One load run: the result, the server's and the load generator's CPU use (0..1)."""
    cpu_before, wall_before, own_before = (
        server.cpu_seconds(),
        time.perf_counter(),
        time.process_time(),
    )
    result = asyncio.run(
        run_load(
            HOST,
            server.port,
            request,
            connections=args.connections,
            duration=args.duration,
            warmup=args.warmup,
        )
    )
    wall = time.perf_counter() - wall_before
    cpu = (server.cpu_seconds() - cpu_before) / wall
    own = (time.process_time() - own_before) / wall
    if result.errors or set(result.statuses) != {200}:
        raise RuntimeError(f"{server.kind}: errors {result.errors}, statuses {result.statuses}")
    return result, cpu, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", choices=["ours", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--v2-events", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.events, args.v2_events)
        return

    ours = Server("ours")
    events, v2_events = count_events(ours.port)
    bare = Server("bare", events, v2_events)
    query = f"?access_token={TOKEN}"

    def request(port: int, target: str, body: str, headers: str = "") -> bytes:
        return build_request("POST", HOST, port, target, body.encode(), headers)

    requests = {
        ("ours", "v1 plain"): request(ours.port, CHAT_PATH + query, BODY),
        ("ours", "v1 stream"): request(ours.port, CHAT_PATH + query, STREAM_BODY),
        ("ours", "v2 plain"): request(ours.port, V2_PATH, V2_BODY, V2_HEADERS),
        ("ours", "v2 stream"): request(ours.port, V2_PATH, V2_STREAM_BODY, V2_HEADERS),
        ("bare", "v1 plain"): request(bare.port, "/chat" + query, BODY),
        ("bare", "v1 stream"): request(bare.port, "/stream" + query, STREAM_BODY),
        ("bare", "v2 plain"): request(bare.port, "/chat2", V2_BODY, V2_HEADERS),
        ("bare", "v2 stream"): request(bare.port, "/stream2", V2_STREAM_BODY, V2_HEADERS),
    }
    best: dict[tuple[str, str], tuple[float, float, float]] = {}
    try:
        for _ in range(args.rounds):
            for scenario in SCENARIOS:
                for server in (ours, bare):
                    result, cpu, own = measure(server, requests[server.kind, scenario], args)
                    key = (server.kind, scenario)
                    if key not in best or result.rps > best[key][0]:
                        best[key] = (result.rps, cpu, own)
    finally:
        ours.stop()
        bare.stop()

    print(
        f"python {sys.version.split()[0]}, uvicorn http protocol {bare.protocol}, "
        f"{args.connections} keep-alive connections, {args.rounds} rounds of "
        f"{args.duration:g} s (best kept), SSE events per stream: v1 {events}, v2 {v2_events}"
    )
    print("(cpu: server process / load generator, share of one core)")
    print(f"{'scenario':<11}{'ours req/s':>12}{'cpu':>10}{'bare req/s':>12}{'cpu':>10}{'ratio':>7}")
    ok = True
    for scenario in SCENARIOS:
        ours_rps, ours_cpu, ours_gen = best["ours", scenario]
        bare_rps, bare_cpu, bare_gen = best["bare", scenario]
        ratio = ours_rps / bare_rps
        ok = ok and ratio >= 0.5
        print(
            f"{scenario:<11}{ours_rps:>12.0f}{f'{ours_cpu:.0%}/{ours_gen:.0%}':>10}"
            f"{bare_rps:>12.0f}{f'{bare_cpu:.0%}/{bare_gen:.0%}':>10}{ratio:>7.2f}"
        )
    print("goal ours >= 0.5 x bare:", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
