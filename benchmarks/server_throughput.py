"""Throughput of the local Qianfan server against a bare Starlette/uvicorn JSON endpoint.

Both servers run as subprocesses, one process each, with the same uvicorn settings (HTTP
protocol class, no lifespan, no websockets, warning logs, no access log), so the load
generator (``_load.py``, raw asyncio sockets, keep-alive) has its own core. Scenarios: a plain
v1 chat call and a streamed one (the bare endpoint streams as many SSE events of the same
size). The rounds alternate between the servers; the best round of each is reported, with the
server process's CPU use (near 100 %: the server, not the generator, is the bottleneck).

    python benchmarks/server_throughput.py [--duration 4] [--connections 32] [--rounds 2]

Goal: ours >= 0.5 x bare in both scenarios.
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


# --- The servers (run in subprocesses) -------------------------------------------------------


def _bare_app(events: int) -> Any:
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

    async def chat(request: Request) -> Response:
        await request.body()
        return JSONResponse(reply)

    async def stream(request: Request) -> Response:
        await request.body()

        async def body() -> Any:
            for _ in range(events):
                yield event

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(
        routes=[Route("/chat", chat, methods=["POST"]), Route("/stream", stream, methods=["POST"])]
    )


def serve(kind: str, events: int) -> None:
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
        app, http = _bare_app(events), AutoHTTPProtocol
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
    def __init__(self, kind: str, events: int = 0) -> None:
        command = [sys.executable, __file__, "--serve", kind, "--events", str(events)]
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


def count_events(port: int) -> int:
    """How many SSE events our server sends for the benchmark prompt (a one-off probe)."""
    import httpx

    url = f"http://{HOST}:{port}{CHAT_PATH}"
    response = httpx.post(
        url, params={"access_token": TOKEN}, content=STREAM_BODY.encode(), timeout=10
    )
    return response.text.count("data: ")


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
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.events)
        return

    ours = Server("ours")
    events = count_events(ours.port)
    bare = Server("bare", events)
    query = f"?access_token={TOKEN}"
    requests = {
        ("ours", "plain"): build_request("POST", HOST, ours.port, CHAT_PATH + query, BODY.encode()),
        ("ours", "stream"): build_request(
            "POST", HOST, ours.port, CHAT_PATH + query, STREAM_BODY.encode()
        ),
        ("bare", "plain"): build_request("POST", HOST, bare.port, "/chat" + query, BODY.encode()),
        ("bare", "stream"): build_request(
            "POST", HOST, bare.port, "/stream" + query, STREAM_BODY.encode()
        ),
    }
    best: dict[tuple[str, str], tuple[float, float, float]] = {}
    try:
        for _ in range(args.rounds):
            for scenario in ("plain", "stream"):
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
        f"{args.duration:g} s (best kept), {events} SSE events per stream"
    )
    print("(cpu: server process / load generator, share of one core)")
    print(f"{'scenario':<10}{'ours req/s':>12}{'cpu':>10}{'bare req/s':>12}{'cpu':>10}{'ratio':>7}")
    ok = True
    for scenario in ("plain", "stream"):
        ours_rps, ours_cpu, ours_gen = best["ours", scenario]
        bare_rps, bare_cpu, bare_gen = best["bare", scenario]
        ratio = ours_rps / bare_rps
        ok = ok and ratio >= 0.5
        print(
            f"{scenario:<10}{ours_rps:>12.0f}{f'{ours_cpu:.0%}/{ours_gen:.0%}':>10}"
            f"{bare_rps:>12.0f}{f'{bare_cpu:.0%}/{bare_gen:.0%}':>10}{ratio:>7.2f}"
        )
    print("goal ours >= 0.5 x bare:", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
