"""``qianfan_chat.ray`` on a local Ray runtime against the local server, with Redis as the
shared budget. Few and bounded: one runtime for the session, small datasets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from qianfan_chat.ray import ChatBatch, run_chat
from qianfan_chat.server import LocalServer
from redis_budget.conftest import RedisServer


def test_chat_batch_answers_a_batch(server: LocalServer) -> None:
    # The callable class alone (what each actor runs), no Ray needed to call it.
    batch = {
        "id": [1, 2, 3],
        "messages": [[{"role": "user", "content": "你好"}], None, None],
        "prompt": [None, "hi", ""],
    }
    out = ChatBatch(base_url=server.base_url, ak="k", sk="s", retry_count=0)(batch)
    assert out["id"] == [1, 2, 3]
    assert isinstance(out["answer"][0], str)
    assert out["answer"][0]
    assert out["usage"][1]["total_tokens"] > 0
    assert out["error"][:2] == [None, None]
    # An empty prompt is refused before it is sent: an error row, never a failed run.
    assert out["error"][2]["code"] == "InvalidRequestError"
    assert out["answer"][2] is None


def test_run_chat_on_ray_shares_one_redis_budget(
    ray_runtime: Any, server: LocalServer, redis_server: RedisServer
) -> None:
    server.reset()
    server.set_rate_limits(qps=4)
    redis_server.client.flushall()
    rows = [{"id": i, "prompt": f"question {i}"} for i in range(16)]
    ds = ray_runtime.data.from_items(rows)
    done = run_chat(
        ds,
        concurrency=2,
        batch_size=4,
        base_url=server.base_url,
        ak="test-ak",
        sk="test-sk",
        retry_count=0,  # a refusal would show as an error row
        query_per_second=4,
        rate_limit_redis_url=redis_server.url,
    ).take_all()
    assert sorted(r["id"] for r in done) == list(range(16))
    assert [r["error"] for r in done if r["error"] is not None] == []
    assert all(r["answer"] for r in done)
    assert all(r["usage"]["total_tokens"] > 0 for r in done)
    chats = [r for r in server.requests() if "/chat/" in r["path"]]
    assert len(chats) == 16  # two actors, one budget: the server refused none


def test_missing_ray_is_one_line() -> None:
    code = "\n".join(
        [
            "import sys",
            "sys.modules['ray'] = None",
            "import qianfan_chat.ray as r",
            "r.run_chat(None)",
        ]
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "ImportError: qianfan_chat.ray needs Ray: pip install 'qianfan-chat[ray]'"
    )
