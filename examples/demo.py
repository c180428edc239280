"""``make demo``: the seed documents' examples, run end to end.

With no ``QIANFAN_AK``/``QIANFAN_SK`` in the environment it starts the local Qianfan server
in-process and talks to it over loopback HTTP (its replies are scripted test data, not a model).
With them set, it talks to Baidu instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx

import qianfan_chat as qianfan

USER_HELLO = [{"role": "user", "content": "你好"}]


def title(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m")


@contextlib.contextmanager
def target() -> Iterator[tuple[str, str | None, bool]]:
    """(base URL, custom endpoint to try, local?): the local server unless real keys are set."""
    if os.environ.get("QIANFAN_AK") and os.environ.get("QIANFAN_SK"):
        print("QIANFAN_AK/QIANFAN_SK are set: talking to Baidu (this spends tokens).")
        base_url = os.environ.get("QIANFAN_BASE_URL", "https://aip.baidubce.com")
        yield base_url, os.environ.get("QIANFAN_ENDPOINT"), False
        return
    from qianfan_chat.server import LocalServer

    with LocalServer(custom_endpoints=["ngxxxol8_test1"]) as server:
        print(f"local Qianfan server at {server.base_url} (scripted replies: test data)")
        os.environ["QIANFAN_AK"] = "demo-ak"
        os.environ["QIANFAN_SK"] = "demo-sk"
        os.environ["QIANFAN_BASE_URL"] = server.base_url
        try:
            yield server.base_url, "ngxxxol8_test1", True
        finally:
            for name in ("QIANFAN_AK", "QIANFAN_SK", "QIANFAN_BASE_URL"):
                os.environ.pop(name, None)


def raw_http(base_url: str) -> None:
    title("raw HTTP: OAuth token, then v1 chat (protocol.md section 1)")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post(
            "/oauth/2.0/token",
            params={
                "grant_type": "client_credentials",
                "client_id": os.environ["QIANFAN_AK"],
                "client_secret": os.environ["QIANFAN_SK"],
            },
        ).json()
        print("token expires_in:", token.get("expires_in"))
        reply = http.post(
            "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant",
            params={"access_token": token["access_token"]},
            json={"messages": USER_HELLO},
        ).json()
        print(json.dumps(reply, ensure_ascii=False, indent=1))


def client_examples(endpoint: str | None) -> None:
    title("ChatCompletion().do — the default model (ERNIE-Bot-turbo)")
    chat = qianfan.ChatCompletion()
    resp = chat.do(messages=USER_HELLO)
    print(resp["result"], "| usage:", resp["usage"], "| request id:", resp.request_id)

    title("do(model='ERNIE-Bot 4.0') and a multi-turn Messages conversation")
    msgs = qianfan.Messages()
    msgs.append("你好")
    msgs.append(chat.do(messages=msgs, model="ERNIE-Bot 4.0"))
    msgs.append("介绍一下你自己")
    print(chat.do(messages=msgs, model="ERNIE-Bot 4.0")["result"])

    title("do(stream=True)")
    with chat.do(messages=USER_HELLO, stream=True) as stream:
        for chunk in stream:
            end = " (is_end)" if chunk["is_end"] else ""
            print(f"[{chunk['sentence_id']}] {chunk['result']!r}{end}")
    print("usage (final chunk):", stream.usage)

    title("ado, and abatch_do with bounded concurrency")

    async def run_async() -> None:
        resp = await chat.ado(messages=USER_HELLO, model="ERNIE-Bot")
        print("ado:", resp["result"])
        prompts = [[{"role": "user", "content": q}] for q in ("1+1=?", "讲个笑话", "你好")]
        for item in await chat.abatch_do(prompts, worker_num=2):
            print("abatch_do:", item["result"] if isinstance(item, qianfan.QfResponse) else item)
        await chat.aclose()

    asyncio.run(run_async())

    title("batch_do, another model (Llama-2-7b-chat) and parameters")
    future = chat.batch_do(  # returns at once, as in the SDK; results() waits
        [USER_HELLO, [{"role": "user", "content": "写一首诗"}]],
        model="Llama-2-7b-chat",
        temperature=0.5,
    )
    for item in future.results():
        print("batch_do:", item["result"] if isinstance(item, qianfan.QfResponse) else item)

    if endpoint:
        title(f"a self-deployed service: endpoint={endpoint!r}")
        print(chat.do(messages=USER_HELLO, endpoint=endpoint)["result"])

    title("bad input is rejected before the network")
    try:
        chat.do(messages=[{"role": "user", "content": "hi"}], temperature=0)
    except qianfan.InvalidRequestError as exc:
        print(f"InvalidRequestError: {exc}")
    chat.close()


def v2_examples(base_url: str, local: bool) -> None:
    """The OpenAI-compatible v2 API: a v2 API key, model ids in the body."""
    api_key = os.environ.get("QIANFAN_API_KEY")
    if not local and not api_key:
        print("\n(QIANFAN_API_KEY is not set: skipping the v2 examples)")
        return
    title("v2: ChatCompletion(api_key=...) — OpenAI-shaped replies")
    chat = qianfan.ChatCompletion(
        api_key=api_key or "bce-v3/ALTAK-demo/0000", base_url=None if not local else base_url
    )
    messages = [{"role": "system", "content": "你是一个助手"}, {"role": "user", "content": "你好"}]
    resp = chat.do(messages=messages, model="ernie-4.0-8k")
    print(resp.completion.text, "| usage:", resp.completion.usage)
    with chat.do(messages=messages, model="ernie-4.0-8k", stream=True) as stream:
        print("stream:", " | ".join(c.completion.text for c in stream if c["choices"]))
    print("usage (usage chunk):", stream.usage)
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "查询天气",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    msgs = qianfan.Messages([{"role": "user", "content": "北京天气怎么样？"}])
    resp = chat.do(messages=msgs, model="ernie-4.0-8k", tools=[weather], tool_choice="required")
    call = resp.completion.choices[0].message.tool_calls[0]
    print("tool call:", call.function.name, call.function.arguments)
    msgs.append(resp)
    msgs.append(json.dumps({"weather": "晴", "temperature": 25}, ensure_ascii=False))
    print("answer:", chat.do(messages=msgs, model="ernie-4.0-8k", tools=[weather]).completion.text)
    chat.close()


def langchain_examples() -> None:
    try:
        from langchain_core.messages import HumanMessage

        from qianfan_chat.langchain import QianfanChatEndpoint
    except ImportError:
        print("\n(the LangChain model is not installed; skipping its examples)")
        return
    title("LangChain QianfanChatEndpoint (seed notebook 000)")
    chat: Any = QianfanChatEndpoint(streaming=True)
    messages = [HumanMessage(content="Hello")]
    print("invoke:", repr(chat.invoke(messages).content))
    print("ainvoke:", repr(asyncio.run(chat.ainvoke(messages)).content))
    print("batch:", [m.content for m in chat.batch([messages])])
    print("stream: ", end="")
    for chunk in chat.stream(messages):
        print(chunk.content, end="", flush=True)
    print()
    chat_bot: Any = QianfanChatEndpoint(streaming=True, model="ERNIE-Bot")
    print("model=ERNIE-Bot:", repr(chat_bot.invoke(messages).content))
    params = {"top_p": 0.4, "temperature": 0.1, "penalty_score": 1}
    print("with parameters:", repr(chat.invoke([HumanMessage(content="Hello")], **params).content))


def main() -> int:
    with target() as (base_url, endpoint, local):
        raw_http(base_url)
        client_examples(endpoint)
        v2_examples(base_url, local)
        langchain_examples()
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
