"""Secrets never appear in repr, str, exception text or any log record at any level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from qianfan_chat import ChatCompletion, QianfanError
from qianfan_chat._config import Credentials
from qianfan_chat.server import LocalServer

from .conftest import IAM_AK, IAM_SK, user

SECRET_AK = "ak-SECRET-0123456789"
SECRET_SK = "sk-SECRET-9876543210"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Every logger that exists, at DEBUG: nothing is allowed to slip through a quiet level.
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore", "qianfan_chat", "asyncio")]
    old = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for lg, level in zip(loggers, old, strict=True):
            lg.setLevel(level)


async def test_no_secret_in_logs_reprs_or_errors(captured: Capture, server: LocalServer) -> None:
    texts: list[str] = []
    chat = ChatCompletion(base_url=server.base_url, ak=SECRET_AK, sk=SECRET_SK)
    texts += [repr(chat), str(chat), repr(chat._credentials)]
    resp = chat.do(user("你好"))
    texts.append(repr(resp))
    token = next(r for r in server.requests() if "/chat/" in r["path"])["query"]["access_token"]
    for chunk in chat.do(user("你好"), stream=True):
        texts.append(repr(chunk))
    await chat.ado(user("hi"))
    server.set_faults([{"error_code": 110}])
    for call in (lambda: chat.do(user("hi")), lambda: chat.do(user("hi"), stream=True)):
        with pytest.raises(QianfanError) as info:
            call()
        texts += [str(info.value), repr(info.value), str(info.value.__cause__)]
    server.reset()
    iam = ChatCompletion(base_url=server.base_url, access_key=IAM_AK, secret_key=IAM_SK)
    iam.do(user("hi"))
    signature = next(r for r in server.requests() if "/chat/" in r["path"])["headers"]
    auth_value = {k.lower(): v for k, v in signature.items()}["authorization"]
    texts.append(repr(iam))
    bad = ChatCompletion(base_url=server.base_url, access_key=IAM_AK, secret_key="wrong-" + IAM_SK)
    with pytest.raises(QianfanError) as info:
        bad.do(user("hi"))
    texts += [str(info.value), repr(info.value)]
    chat.close()
    iam.close()
    bad.close()

    assert captured.lines, "the capture must have seen httpx's request lines"
    assert any("HTTP Request" in line for line in captured.lines)
    haystack = "\n".join(captured.lines + texts)
    for secret in (SECRET_AK, SECRET_SK, token, IAM_SK, auth_value.rsplit("/", 1)[-1]):
        assert secret not in haystack


def test_credentials_repr_masks() -> None:
    creds = Credentials.resolve(ak=SECRET_AK, sk=SECRET_SK)
    assert SECRET_AK not in repr(creds)
    assert SECRET_SK not in repr(creds.sk)
    assert creds.mode == "oauth"


async def test_no_v2_key_in_logs_reprs_or_errors(captured: Capture, server: LocalServer) -> None:
    api_key = "bce-v3/ALTAK-SECRETSECRETSECRET00/0123456789abcdef0123456789abcdef01234567"
    texts: list[str] = []
    chat = ChatCompletion(version=2, api_key=api_key, base_url=server.base_url)
    texts += [repr(chat), repr(chat.do(user("你好")))]
    for chunk in chat.do(user("你好"), stream=True):
        texts.append(repr(chunk))
    await chat.ado(user("hi"))
    minting = ChatCompletion(
        version=2,
        access_key=IAM_AK,
        secret_key=IAM_SK,
        base_url=server.base_url,
        iam_base_url=server.base_url,
    )
    minting.do(user("hi"))
    minted = next(
        r
        for r in server.requests()
        if r["path"] == "/v2/chat/completions"
        and "ALTAK-SECRET" not in r["headers"]["authorization"]
    )["headers"]["authorization"]
    server.set_faults([{"http_status": 500}])
    with pytest.raises(QianfanError) as info:
        chat.do(user("hi"), retry_count=0)
    texts += [str(info.value), repr(info.value)]
    chat.close()
    minting.close()
    assert any("HTTP Request" in line for line in captured.lines)
    haystack = "\n".join(captured.lines + texts)
    for secret in (api_key, "ALTAK-SECRETSECRETSECRET00", minted.split()[-1], IAM_SK):
        assert secret not in haystack
