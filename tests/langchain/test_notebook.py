"""The LangChain notebook for Qianfan (seed document 000, copied to ``data/``) runs unchanged
against the local server, except its two import lines: ``QianfanChatEndpoint`` comes from
``qianfan_chat.langchain`` and ``HumanMessage`` from ``langchain_core.messages``.

The notebook sets ``QIANFAN_AK`` / ``QIANFAN_SK`` itself (placeholder keys, which the local
server's open mode accepts); ``QIANFAN_BASE_URL`` points the client at the server. Each cell's
value must be what the notebook's output shows (an ``AIMessage``, a list of them, printed text),
with the server's default reply to "Hello" (TEST DATA) as the content.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from qianfan_chat.server import LocalServer

NOTEBOOK = Path(__file__).parent / "data" / "qianfan_notebook.txt"
SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_e6e6371a3c3ea1ba.txt"
GREETING = "您好！有什么我可以帮助您的吗？"  # the local server's default answer to "Hello"

IMPORTS = {
    "from langchain_community.chat_models import QianfanChatEndpoint": (
        "from qianfan_chat.langchain import QianfanChatEndpoint"
    ),
    "from langchain_core.language_models.chat_models import HumanMessage": (
        "from langchain_core.messages import HumanMessage"
    ),
}
_BLOCK = re.compile(r"```(python|output)\n(.*?)```", re.S)


def cells() -> list[tuple[str, str | None]]:
    """``(code, documented output or None)`` for each Python cell of the notebook."""
    found: list[tuple[str, str | None]] = []
    for kind, text in _BLOCK.findall(NOTEBOOK.read_text("utf-8")):
        if kind == "python":
            found.append((text, None))
        elif found:
            found[-1] = (found[-1][0], text.strip())
    return found


def run_cell(code: str, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> Any:
    """Run a cell as a notebook does (top-level ``await`` allowed); return its last value."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None

    def run(result: Any) -> Any:
        return loop.run_until_complete(result) if inspect.iscoroutine(result) else result

    run(eval(compile(tree, "<cell>", "exec", flags=flags), namespace))
    if last is None:
        return None
    expression = ast.Expression(last.value)
    return run(eval(compile(expression, "<cell>", "eval", flags=flags), namespace))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    with LocalServer() as srv:
        monkeypatch.setenv("QIANFAN_BASE_URL", srv.base_url)
        # Recorded so that monkeypatch restores them after the notebook overwrites them.
        monkeypatch.setenv("QIANFAN_AK", "")
        monkeypatch.setenv("QIANFAN_SK", "")
        yield srv


def test_notebook_copy_is_the_seed() -> None:
    if not SEED.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert NOTEBOOK.read_text("utf-8") == SEED.read_text("utf-8")


def test_notebook_runs(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    found = cells()
    assert len(found) == 7
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    loop = asyncio.new_event_loop()
    try:
        for code, documented in found:
            for old, new in IMPORTS.items():
                code = code.replace(old, new)
            assert "langchain_community" not in code
            capsys.readouterr()
            value = run_cell(code, namespace, loop)
            printed = capsys.readouterr().out
            if documented is None:
                assert value is None
                continue
            if documented.startswith("AIMessage("):
                assert isinstance(value, AIMessage), code
                assert value.content == GREETING
            elif documented.startswith("[AIMessage("):
                assert isinstance(value, list)
                assert [type(v) for v in value] == [AIMessage]
                assert value[0].content == GREETING
            else:  # the streaming cell prints the reply
                assert documented == GREETING
                assert printed == GREETING
    finally:
        loop.close()
    chats = [r for r in server.requests() if "/chat/" in r["path"]]
    assert len(chats) == 6
    assert all(r["stream"] for r in chats)  # every model in the notebook has streaming=True
    assert chats[4]["path"].endswith("/chat/completions")  # model="ERNIE-Bot"
    assert '"top_p": 0.4' in chats[5]["body"]
