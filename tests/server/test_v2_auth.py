"""v2 auth: Bearer keys in open and configured modes, v1 tokens refused as Bearer, the appid
header, X-Request-Id, and short-term keys minted by the bce-auth-v1 signed BCE-BEARER route
(then used, expired, refused)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from qianfan_chat._protocol.signing import sign_request_headers

from .conftest import IAM_AK, IAM_SK, V2, V2_KEY, V2_MODEL, user

HI = {"model": V2_MODEL, "messages": user("hi")}
MINTED_RE = re.compile(r"bce-v3/ALTAK-[A-Za-z0-9]{20}/[0-9a-f]{40}")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
V1_SHAPED = "24.0123456789abcdef0123456789abcdef.2592000.1700000000.282335-12345678"


def mint(
    v2: V2,
    query: str = "?expireInSeconds=300",
    *,
    ak: str = IAM_AK,
    sk: str = IAM_SK,
    method: str = "GET",
    now: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Call BCE-BEARER signed with ``ak``/``sk`` (headers given: sent as they are)."""
    url = v2.server.url("/v1/BCE-BEARER/token" + query)
    if headers is None:
        headers = sign_request_headers(
            access_key=ak, secret_key=sk, method=method, url=url, headers={}, now=now
        )
    return v2.client.request(method, url, headers=headers)


def minted_key(v2: V2, seconds: int = 300) -> str:
    response = mint(v2, f"?expireInSeconds={seconds}")
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


# (id, Authorization header or None)
OPEN_MODE_ACCEPTS: list[tuple[str, str]] = [
    ("api-key", f"Bearer {V2_KEY}"),
    ("any-text", "Bearer whatever"),
    ("scheme-any-case", "bearer whatever"),
]
OPEN_MODE_REFUSES: list[tuple[str, str | None]] = [
    ("missing", None),
    ("scheme-only", "Bearer"),
    ("other-scheme", f"Basic {V2_KEY}"),
    ("no-scheme", V2_KEY),
    ("v1-token-shape", f"Bearer {V1_SHAPED}"),
]


@pytest.mark.parametrize(
    "authorization", [r[1] for r in OPEN_MODE_ACCEPTS], ids=[r[0] for r in OPEN_MODE_ACCEPTS]
)
def test_open_mode_accepts_any_key(v2: V2, authorization: str) -> None:
    response = v2.post(HI, headers={"Authorization": authorization})
    assert response.status_code == 200
    assert v2.log()[-1]["key"] == authorization.split(" ", 1)[1]


@pytest.mark.parametrize(
    "authorization", [r[1] for r in OPEN_MODE_REFUSES], ids=[r[0] for r in OPEN_MODE_REFUSES]
)
def test_open_mode_refuses(v2: V2, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, error = v2.error(HI, headers=headers)
    assert (status, error["code"], error["type"]) == (
        401,
        "invalid_iam_token",
        "invalid_request_error",
    )
    assert v2.log()[-1]["key"] is None


def test_an_issued_v1_token_is_refused_as_bearer(v2: V2) -> None:
    token = v2.server.issue_token("some-ak")
    status, error = v2.error(HI, key=token)
    assert (status, error["code"]) == (401, "invalid_iam_token")


# (id, key, accepted) on a server with configured keys.
CONFIGURED: list[tuple[str, str, bool]] = [
    ("listed", "key-one", True),
    ("listed-second", "key-two", True),
    ("unlisted", "key-three", False),
    ("case-matters", "KEY-ONE", False),
]


def test_configured_keys(serve_v2: Any) -> None:
    strict = serve_v2(api_keys=["key-one", "key-two"], iam_keys={IAM_AK: IAM_SK})
    for _, key, accepted in CONFIGURED:
        response = strict.post(HI, key=key)
        assert response.status_code == (200 if accepted else 401), key
    minted = minted_key(strict)
    assert strict.post(HI, key=minted).status_code == 200  # Minted keys work in both modes.


# (id, configured app ids, appid header or None, status, code)
APPIDS: list[tuple[str, list[str], str | None, int, str | None]] = [
    ("any-when-none-configured", [], "app-9", 200, None),
    ("listed", ["app-1", "app-2"], "app-2", 200, None),
    ("absent-header", ["app-1"], None, 200, None),
    ("unlisted", ["app-1"], "app-9", 401, "invalid_appid"),
]


@pytest.mark.parametrize(
    ("app_ids", "appid", "status", "code"), [r[1:] for r in APPIDS], ids=[r[0] for r in APPIDS]
)
def test_appid_header(
    serve_v2: Any, app_ids: list[str], appid: str | None, status: int, code: str | None
) -> None:
    api = serve_v2(app_ids=app_ids)
    headers = api.headers(**({"appid": appid} if appid is not None else {}))
    response = api.post(HI, headers=headers)
    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code


def test_request_id_is_echoed_or_generated(v2: V2) -> None:
    response = v2.post(HI, headers=v2.headers(**{"X-Request-Id": "my-request-1"}))
    assert response.headers["x-request-id"] == "my-request-1"
    assert response.json()["id"].startswith("as-")
    generated = v2.post(HI)
    assert re.fullmatch(r"[0-9a-f-]{36}", generated.headers["x-request-id"])
    refused = v2.post(HI, headers={"X-Request-Id": "my-request-2"})
    assert refused.headers["x-request-id"] == "my-request-2"
    assert [e["request_id"] for e in v2.log()] == [
        "my-request-1",
        generated.headers["x-request-id"],
        "my-request-2",
    ]


def test_mint_then_call(v2: V2) -> None:
    response = mint(v2, "?expireInSeconds=300")
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"userId", "token", "status", "createTime", "expireTime"}
    assert MINTED_RE.fullmatch(data["token"])
    assert data["status"] == "enable"
    assert TIME_RE.fullmatch(data["createTime"])
    assert TIME_RE.fullmatch(data["expireTime"])
    created = datetime.fromisoformat(data["createTime"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(data["expireTime"].replace("Z", "+00:00"))
    assert expires - created == timedelta(seconds=300)
    assert response.headers["x-bce-request-id"]
    assert v2.post(HI, key=data["token"]).status_code == 200
    assert v2.log()[0]["key"] == IAM_AK
    assert v2.log()[1]["key"] == data["token"]
    # The user id is stable per access key; every key is new.
    again = mint(v2).json()
    assert (again["userId"], again["token"] != data["token"]) == (data["userId"], True)


# (id, query, seconds granted or None for 400)
LIFETIMES: list[tuple[str, str, int | None]] = [
    ("default", "", 1800),
    ("minimum", "?expireInSeconds=300", 300),
    ("maximum", "?expireInSeconds=2592000", 2592000),
    ("sdk-default", "?expireInSeconds=43200", 43200),
    ("too-short", "?expireInSeconds=299", None),
    ("too-long", "?expireInSeconds=2592001", None),
    ("not-a-number", "?expireInSeconds=soon", None),
    ("negative", "?expireInSeconds=-300", None),
    ("empty", "?expireInSeconds=", None),
]


@pytest.mark.parametrize(
    ("query", "seconds"), [r[1:] for r in LIFETIMES], ids=[r[0] for r in LIFETIMES]
)
def test_lifetime(v2: V2, query: str, seconds: int | None) -> None:
    response = mint(v2, query)
    data = response.json()
    if seconds is None:
        assert response.status_code == 400
        assert data["code"] == "InvalidParameter"
        assert response.headers["x-bce-error-code"] == "InvalidParameter"
        return
    assert response.status_code == 201
    created = datetime.fromisoformat(data["createTime"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(data["expireTime"].replace("Z", "+00:00"))
    assert (expires - created).total_seconds() == seconds


def test_expired_key_is_refused(v2: V2) -> None:
    key = minted_key(v2)
    assert v2.post(HI, key=key).status_code == 200
    assert v2.server.expire_api_key(key) is True
    status, error = v2.error(HI, key=key)
    assert (status, error["code"]) == (401, "invalid_iam_token")
    assert v2.server.expire_api_key("never-minted") is False


def test_issue_api_key_helper(v2: V2) -> None:
    key = v2.server.issue_api_key(expires_in=600)
    assert MINTED_RE.fullmatch(key)
    assert v2.post(HI, key=key).status_code == 200
    v2.server.expire_api_key(key)
    assert v2.post(HI, key=key).status_code == 401


def test_minted_key_outlives_reset(v2: V2) -> None:
    key = minted_key(v2)
    v2.server.reset()
    assert v2.post(HI, key=key).status_code == 200


def _tamper(headers: dict[str, str], field: int, value: str) -> dict[str, str]:
    parts = headers["Authorization"].split("/")
    parts[field] = value
    return {**headers, "Authorization": "/".join(parts)}


def _signed(v2: V2, query: str = "?expireInSeconds=300", **kwargs: Any) -> dict[str, str]:
    url = v2.server.url("/v1/BCE-BEARER/token" + query)
    return sign_request_headers(
        access_key=IAM_AK, secret_key=IAM_SK, method="GET", url=url, headers={}, **kwargs
    )


def test_bad_signatures(v2: V2) -> None:
    stale = datetime.now(timezone.utc) - timedelta(hours=2)
    good = _signed(v2)
    # (id, response, status, code)
    cases: list[tuple[str, httpx.Response, int, str]] = [
        ("wrong-secret", mint(v2, sk="not-the-secret"), 401, "SignatureDoesNotMatch"),
        ("unknown-access-key", mint(v2, ak="stranger"), 403, "InvalidAccessKeyId"),
        ("expired-signature", mint(v2, now=stale), 401, "RequestExpired"),
        ("missing", mint(v2, headers={}), 401, "InvalidHTTPAuthHeader"),
        ("garbage", mint(v2, headers={"Authorization": "x"}), 401, "InvalidHTTPAuthHeader"),
        (
            "host-not-signed",
            mint(v2, headers=_tamper(good, 4, "x-bce-date")),
            401,
            "InvalidHTTPAuthHeader",
        ),
        (
            "query-changed",
            mint(v2, "?expireInSeconds=600", headers=good),
            401,
            "SignatureDoesNotMatch",
        ),
        ("post", mint(v2, method="POST"), 405, "MethodNotAllowed"),
    ]
    for name, response, status, code in cases:
        assert response.status_code == status, name
        data = response.json()
        assert set(data) == {"requestId", "code", "message"}, name
        assert data["code"] == code, name
        assert response.headers["x-bce-error-code"] == code, name
        assert response.headers["x-bce-error-message"] == data["message"], name
        assert data["requestId"] == response.headers["x-bce-request-id"], name
    assert [e["error_code"] for e in v2.log()] == [c[3] for c in cases]


def test_no_iam_keys_configured(serve_v2: Any) -> None:
    bare = serve_v2()
    response = mint(bare)
    assert (response.status_code, response.json()["code"]) == (403, "InvalidAccessKeyId")


def test_signature_with_the_default_header_set(v2: V2) -> None:
    from qianfan_chat._protocol.signing import sign

    url = v2.server.url("/v1/BCE-BEARER/token")
    host = url.split("/")[2]
    authorization = sign(
        access_key=IAM_AK,
        secret_key=IAM_SK,
        method="GET",
        path="/v1/BCE-BEARER/token",
        query={},
        headers={"host": host},
        signed_headers=None,  # The empty field: host, content-*, x-bce-* (host is signed).
    )
    response = v2.client.get(url, headers={"Authorization": authorization})
    assert response.status_code == 201, response.text


async def test_mint_and_call_async(v2: V2) -> None:
    url = v2.server.url("/v1/BCE-BEARER/token?expireInSeconds=600")
    headers = sign_request_headers(
        access_key=IAM_AK, secret_key=IAM_SK, method="GET", url=url, headers={}
    )
    async with httpx.AsyncClient(timeout=10) as client:
        token = (await client.get(url, headers=headers)).json()["token"]
        reply = await client.post(
            v2.server.v2_chat_url, headers={"Authorization": f"Bearer {token}"}, json=HI
        )
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"]
