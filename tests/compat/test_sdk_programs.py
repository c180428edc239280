"""Programs written for Baidu's SDK (``qianfan`` 0.4.12.3: the seed page and the SDK's own
docs) run unchanged with ``import qianfan_chat as qianfan`` against the local server
(issue 9). Each row is a whole program, as a user would have it; only the import line differs
from what it was written for. Credentials and the server's address come from the environment
(``QIANFAN_AK``/``QIANFAN_SK``, ``QIANFAN_BASE_URL``...), as an SDK user's do. A program
fails its row by raising (its own ``assert``s say what it expects).

Rows that have an async form in the SDK run it too (``asyncio.run`` inside the program).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qianfan_chat._auth import clear_token_cache
from qianfan_chat.server import LocalServer

AK, SK = "compat-ak", "compat-sk"
V2_KEY = "bce-v3/ALTAK-compat0000000000000/0123456789abcdef0123456789abcdef01234567"

PROGRAMS: dict[str, str] = {
    # 1. Responses: resp["body"], ["code"], ["headers"], ["statistic"], resp.request, print.
    "response-fields": """
        import io, contextlib
        import qianfan_chat as qianfan
        chat_comp = qianfan.ChatCompletion()
        resp = chat_comp.do(model="ERNIE-Bot", messages=[{"role": "user", "content": "你好"}])
        assert resp["body"]["result"] == resp["result"]
        assert resp["code"] == 200
        assert "content-type" in {k.lower() for k in resp["headers"]}
        assert resp["statistic"]["total_latency"] > 0
        assert resp.request.method == "POST"
        assert resp.request.json_body["messages"][0]["content"] == "你好"
        assert resp.request.query["access_token"] == "***"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            print(resp)
        assert out.getvalue().startswith("QfResponse(code=200, headers=")
        assert "access_token': '***'" in out.getvalue()
    """,
    "response-fields-async": """
        import asyncio
        import qianfan_chat as qianfan
        async def main():
            resp = await qianfan.ChatCompletion().ado(
                model="ERNIE-Bot", messages=[{"role": "user", "content": "你好"}])
            assert resp["body"]["result"] and resp["code"] == 200
        asyncio.run(main())
    """,
    "stream-chunks-have-code-and-headers": """
        import qianfan_chat as qianfan
        for r in qianfan.ChatCompletion().do(
                messages=[{"role": "user", "content": "讲个故事"}], stream=True):
            assert r["code"] == 200 and r["headers"] is not None
            print(r["body"]["result"], end="")
    """,
    # 2. v2 streams: no chunk without choices; usage on the last chunk.
    "v2-stream-delta": """
        import qianfan_chat as qianfan
        chat = qianfan.ChatCompletion(version="2", model="ernie-3.5-8k", api_key=V2_KEY)
        chunks = list(chat.do(messages=[{"role": "user", "content": "讲个故事"}], stream=True))
        text = "".join(r["choices"][0]["delta"].get("content") or "" for r in chunks)
        assert text
        assert chunks[-1]["usage"]["total_tokens"] > 0
    """,
    "v2-stream-delta-async": """
        import asyncio
        import qianfan_chat as qianfan
        async def main():
            chat = qianfan.ChatCompletion(version="2", model="ernie-3.5-8k", api_key=V2_KEY)
            stream = await chat.ado(messages=[{"role": "user", "content": "hi"}], stream=True)
            async for r in stream:
                r["choices"][0]["delta"]
            assert stream.usage["total_tokens"] > 0
        asyncio.run(main())
    """,
    # 3. batch_do returns a BatchRequestFuture; body_list; stream=True; abatch_do a list.
    "batch-future": """
        import qianfan_chat as qianfan
        chat_comp = qianfan.ChatCompletion()
        future = chat_comp.batch_do(
            messages_list=[[{"role": "user", "content": f"问题{i}"}] for i in range(5)],
            worker_num=2)
        assert future.task_count() == 5
        future.wait()
        assert future.finished_count() == 5
        results = future.results()
        assert [r["result"] for r in results] == [f.result()["result"] for f in future]
    """,
    "batch-body-list-and-stream": """
        import qianfan_chat as qianfan
        chat_comp = qianfan.ChatCompletion()
        future = chat_comp.batch_do(body_list=[
            {"messages": [{"role": "user", "content": "你好"}], "temperature": 0.5},
            {"messages": [{"role": "user", "content": "hi"}], "model": "ERNIE-Bot"},
        ])
        assert all(r["result"] for r in future.results())
        streams = chat_comp.batch_do([[{"role": "user", "content": "你好"}]], stream=True)
        for stream in streams.results():
            assert "".join(chunk["result"] for chunk in stream)
    """,
    "abatch-list": """
        import asyncio
        import qianfan_chat as qianfan
        async def main():
            results = await qianfan.ChatCompletion().abatch_do(
                [[{"role": "user", "content": "你好"}]] * 3, worker_num=2)
            assert isinstance(results, list) and len(results) == 3
        asyncio.run(main())
    """,
    # 4. The SDK's errors, for server errors and for input Baidu would refuse.
    "errors-api": """
        import qianfan_chat as qianfan
        try:
            qianfan.ChatCompletion().do(messages=[{"role": "user", "content": "trigger-336100"}])
        except qianfan.errors.APIError as e:
            assert e.error_code == 336100 and e.error_msg and e.req_id
        else:
            raise AssertionError("no error")
    """,
    "errors-before-the-network": """
        import qianfan_chat as qianfan
        from qianfan_chat import errors
        for bad in ([{"role": "user", "content": ""}],
                    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]):
            try:
                qianfan.ChatCompletion().do(messages=bad)
            except errors.APIError as e:
                assert e.error_code in (336003, 336006) and e.error_msg
                assert isinstance(e, errors.InvalidArgumentError)
            else:
                raise AssertionError("no error")
    """,
    "errors-async": """
        import asyncio
        import qianfan_chat as qianfan
        async def main():
            try:
                await qianfan.ChatCompletion().ado(
                    messages=[{"role": "user", "content": "trigger-336100"}])
            except qianfan.errors.APIError as e:
                return e.error_code
        assert asyncio.run(main()) == 336100
    """,
    "errors-auth": """
        import qianfan_chat as qianfan
        try:
            qianfan.ChatCompletion(ak="wrong", sk="pair").do(
                messages=[{"role": "user", "content": "hi"}])
        except qianfan.errors.AuthError:
            pass
        except qianfan.errors.RequestError:
            pass
        else:
            raise AssertionError("no error")
    """,
    # 5. QfMessages, QfRole, Role, append(..., role=QfRole.User), _to_list().
    "messages": """
        import qianfan_chat as qianfan
        from qianfan_chat import QfMessages, QfRole
        msgs = QfMessages()
        msgs.append("你好")
        resp = qianfan.ChatCompletion().do(messages=msgs)
        msgs.append(resp)
        msgs.append("再说一次", role=QfRole.User)
        assert [m["role"] for m in msgs._to_list()] == ["user", "assistant", "user"]
        assert qianfan.Role.Assistant.value == "assistant"
        assert qianfan.ChatCompletion().do(messages=msgs)["result"]
        try:
            msgs.append(42)
        except qianfan.errors.InvalidArgumentError:
            pass
        else:
            raise AssertionError("appending an int must raise")
    """,
    "function-call-round-trip": """
        import qianfan_chat as qianfan
        weather = {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "the city"}},
                "required": ["location"],
            },
        }
        msgs = qianfan.Messages()
        msgs.append("What's the weather in Beijing today?")
        chat = qianfan.ChatCompletion(model="ERNIE-Bot")
        resp = chat.do(messages=msgs, functions=[weather])
        assert resp["body"]["function_call"]["name"] == "get_current_weather"
        msgs.append(resp)
        msgs.append('{"temperature": 25}')
        assert chat.do(messages=msgs, functions=[weather])["result"]
    """,
    # 6. Module-level configuration and logging.
    "config-functions": """
        import os
        import qianfan_chat as qianfan
        ak, sk = os.environ.pop("QIANFAN_AK"), os.environ.pop("QIANFAN_SK")
        try:
            qianfan.AK(ak)
            qianfan.SK(sk)
            assert qianfan.get_config().AK == ak
            assert ak not in repr(qianfan.get_config())
            assert qianfan.ChatCompletion().do(messages=[{"role": "user", "content": "hi"}])
        finally:
            qianfan.get_config().AK = None
            qianfan.get_config().SK = None
            os.environ["QIANFAN_AK"], os.environ["QIANFAN_SK"] = ak, sk
        qianfan.enable_log("DEBUG")
        qianfan.disable_log()
    """,
    # 7. models(), get_model_info(), access_token().
    "models-and-token": """
        import qianfan_chat as qianfan
        assert "ERNIE-Bot" in qianfan.ChatCompletion.models()
        chat = qianfan.ChatCompletion()
        assert "ERNIE-4.0-8K" in chat.models()
        assert "ernie-3.5-8k" in qianfan.ChatCompletion.models(version=2)
        info = chat.get_model_info("ERNIE-Bot")
        assert info.endpoint.endswith("/completions") and "temperature" in info.optional_keys
        token = chat.access_token()
        assert token and token == chat.access_token()
    """,
    # 8. Positional arguments in the SDK's order.
    "positional-arguments": """
        import qianfan_chat as qianfan
        chat = qianfan.ChatCompletion()
        resp = chat.do([{"role": "user", "content": "你好"}], "ERNIE-Bot", None, False, 1, 30)
        assert resp["result"]
        stream = chat.do([{"role": "user", "content": "你好"}], "ERNIE-Bot", None, True)
        assert "".join(r["result"] for r in stream)
    """,
    # 9. SDK options that are not body fields.
    "stream-on-the-constructor": """
        import qianfan_chat as qianfan
        chat = qianfan.ChatCompletion(stream=True)
        assert "".join(r["result"] for r in chat.do(
            messages=[{"role": "user", "content": "讲个故事"}]))
    """,
    "auto-concat-truncate": """
        import qianfan_chat as qianfan
        resp = qianfan.ChatCompletion().do(
            messages=[{"role": "user", "content": "trigger-truncated"}],
            auto_concat_truncate=True, truncated_continue_prompt="继续")
        assert resp["result"] == "前半段。后半段。", resp["result"]
    """,
    "auto-concat-truncate-stream": """
        import qianfan_chat as qianfan
        stream = qianfan.ChatCompletion().do(
            messages=[{"role": "user", "content": "trigger-truncated"}],
            stream=True, auto_concat_truncate=True)
        pieces = [r["result"] for r in stream]
        assert "".join(pieces) == "前半段。后半段。" == stream.text, pieces
    """,
    "auto-concat-truncate-stream-async": """
        import asyncio
        import qianfan_chat as qianfan
        async def main():
            chat = qianfan.ChatCompletion(version="2", model="ernie-3.5-8k", api_key=V2_KEY)
            stream = await chat.ado(
                messages=[{"role": "user", "content": "trigger-truncated"}],
                stream=True, auto_concat_truncate=True)
            text = "".join([r["choices"][0]["delta"].get("content") or "" async for r in stream])
            assert text == "前半段。后半段。" == stream.text, text
        asyncio.run(main())
    """,
    "adapt-openai-and-show-latency": """
        import qianfan_chat as qianfan
        resp = qianfan.ChatCompletion().do(
            messages=[{"role": "system", "content": "你是助手"},
                      {"role": "user", "content": "你好"}],
            adapt_openai_message_format=True, show_total_latency=True)
        assert resp["result"] and resp["statistic"]["total_latency"] > 0
        assert resp.request.json_body["system"] == "你是助手"
        assert "show_total_latency" not in resp.request.json_body
    """,
    "truncate-overlong-messages": """
        import qianfan_chat as qianfan
        long = "字" * 4000  # two of these are over ERNIE-Bot-turbo's 7168-token input
        msgs = [{"role": "user", "content": long}, {"role": "assistant", "content": long},
                {"role": "user", "content": "最后的问题"}]
        resp = qianfan.ChatCompletion(model="ERNIE-Bot-turbo").do(
            messages=msgs, truncate_overlong_msgs=True)
        assert resp.request.json_body["messages"] == [msgs[-1]]
    """,
    "query-per-second-limits-the-rate": """
        import time
        import qianfan_chat as qianfan
        chat = qianfan.ChatCompletion(query_per_second=5)
        started = time.monotonic()
        for _ in range(6):
            chat.do(messages=[{"role": "user", "content": "你好"}])
        assert time.monotonic() - started >= 0.95  # the 6th waits for the first second to pass
        assert qianfan.ChatCompletion(query_per_second=0)._throttle is None  # 0: no limit (SDK)
    """,
    "limits-shared-by-sync-and-async": """
        import asyncio, threading, time
        import qianfan_chat as qianfan
        chat = qianfan.ChatCompletion(request_per_minute=600, query_per_second=4)
        msgs = [{"role": "user", "content": "你好"}]
        started = time.monotonic()
        thread = threading.Thread(target=lambda: [chat.do(messages=msgs) for _ in range(3)])
        thread.start()
        async def main():
            for _ in range(3):
                await chat.ado(messages=msgs)
        asyncio.run(main())
        thread.join()
        assert time.monotonic() - started >= 0.95  # 6 calls at 4 a second, one budget
    """,
    "unknown-sdk-option-warns": """
        import warnings
        import qianfan_chat as qianfan
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resp = qianfan.ChatCompletion().do(
                messages=[{"role": "user", "content": "你好"}], retry_jitter=1)
        assert any("retry_jitter" in str(w.message) for w in caught)
        assert "retry_jitter" not in resp.request.json_body
    """,
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ak_sk={AK: SK}, api_keys=[V2_KEY]) as srv:
        yield srv


@pytest.fixture
def environment(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """What an SDK user's shell has: credentials and the service's address (here the local
    server); a working directory of its own (no stray .env)."""
    for name in ("QIANFAN_ACCESS_KEY", "QIANFAN_SECRET_KEY", "QIANFAN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QIANFAN_AK", AK)
    monkeypatch.setenv("QIANFAN_SK", SK)
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", server.base_url)
    monkeypatch.chdir(tmp_path)
    server.reset()
    server.add_rule(contains="trigger-336100", error_code=336100)
    server.add_rule(contains="trigger-truncated", text="前半段。", finish_reason="length")
    server.add_rule(contains="继续", text="后半段。")
    clear_token_cache()
    yield
    clear_token_cache()


def run_program(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__main__", "V2_KEY": V2_KEY}
    exec(compile(textwrap.dedent(source), "<sdk program>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.usefixtures("environment")
def test_sdk_program_runs_unchanged(name: str) -> None:
    run_program(PROGRAMS[name])


@pytest.mark.usefixtures("environment")
def test_dot_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials from ./.env as the SDK reads them; the environment wins over the file,
    qianfan.AK() over both, and an argument over everything."""
    ak = "from-dotenv"
    monkeypatch.delenv("QIANFAN_AK")
    (tmp_path / ".env").write_text(f"QIANFAN_AK={ak}\nOTHER=1\n", encoding="utf-8")
    namespace = run_program(
        """
        import qianfan_chat as qianfan
        from_file = qianfan.Settings.resolve().credentials.ak.get()
        assert "OTHER" not in qianfan.Settings.environment()
        """
    )
    assert namespace["from_file"] == ak
    monkeypatch.setenv("QIANFAN_AK", AK)
    run_program(
        """
        import qianfan_chat as qianfan
        assert qianfan.Settings.resolve().credentials.ak.get() == "compat-ak"  # env wins
        qianfan.AK("set-in-code")
        try:
            assert qianfan.Settings.resolve().credentials.ak.get() == "set-in-code"
            assert qianfan.Settings.resolve(ak="arg", sk="x").credentials.ak.get() == "arg"
        finally:
            qianfan.get_config().AK = None
        """
    )
