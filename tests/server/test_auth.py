"""Auth paths: the OAuth token route (open and configured modes, expiry), access tokens in the
chat query, and bce-auth-v1 IAM signatures verified with the shared signer."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from qianfan_chat._protocol.signing import sign_request_headers

from .conftest import IAM_AK, IAM_SK, Api, user

TOKEN_RE = re.compile(r"24\.[0-9a-f]{32}\.(\d+)\.(\d+)\.\d+-\d+")
GRANT = "client_credentials"
UNSUPPORTED = {
    "error": "unsupported_grant_type",
    "error_description": "The authorization grant type is not supported",
}
UNKNOWN = {"error": "invalid_client", "error_description": "unknown client id"}
BAD_SECRET = {"error": "invalid_client", "error_description": "Client authentication failed"}


def oauth(api: Api, method: str = "POST", **params: str) -> httpx.Response:
    return api.client.request(method, api.server.url("/oauth/2.0/token"), params=params)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_oauth_issues_a_baidu_like_token(api: Api, method: str) -> None:
    response = oauth(api, method, grant_type=GRANT, client_id="any-ak", client_secret="any-sk")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "scope",
        "session_key",
        "session_secret",
    }
    assert data["expires_in"] == 2592000
    match = TOKEN_RE.fullmatch(data["access_token"])
    assert match is not None
    assert match.group(1) == "2592000"
    assert int(match.group(2)) > time.time()
    assert "brain_all_scope" in data["scope"]
    assert response.headers["x-bce-request-id"]
    reply = api.chat({"messages": user("你好")}, token=data["access_token"]).json()
    assert reply["result"]
    assert api.log()[-1]["key"] == "any-ak"


# (id, query, status, body) for the open-mode server (no pairs configured).
OPEN_MODE: list[tuple[str, dict[str, str], int, dict[str, str]]] = [
    ("no-grant-type", {"client_id": "a", "client_secret": "b"}, 400, UNSUPPORTED),
    (
        "wrong-grant-type",
        {"grant_type": "password", "client_id": "a", "client_secret": "b"},
        400,
        UNSUPPORTED,
    ),
    ("no-client-id", {"grant_type": GRANT, "client_secret": "b"}, 401, UNKNOWN),
    ("empty-client-id", {"grant_type": GRANT, "client_id": "", "client_secret": "b"}, 401, UNKNOWN),
    ("empty-secret", {"grant_type": GRANT, "client_id": "a", "client_secret": ""}, 401, UNKNOWN),
]


@pytest.mark.parametrize(
    ("query", "status", "body"), [r[1:] for r in OPEN_MODE], ids=[r[0] for r in OPEN_MODE]
)
def test_oauth_refusals_in_open_mode(
    api: Api, query: dict[str, str], status: int, body: dict[str, str]
) -> None:
    response = oauth(api, **query)
    assert (response.status_code, response.json()) == (status, body)


CONFIGURED: list[tuple[str, dict[str, str], int, dict[str, str] | None]] = [
    ("good-pair", {"client_id": "ak1", "client_secret": "sk1"}, 200, None),
    ("second-pair", {"client_id": "ak2", "client_secret": "sk2"}, 200, None),
    ("unknown-client", {"client_id": "nobody", "client_secret": "sk1"}, 401, UNKNOWN),
    ("wrong-secret", {"client_id": "ak1", "client_secret": "sk2"}, 401, BAD_SECRET),
    ("missing-secret", {"client_id": "ak1"}, 401, BAD_SECRET),
]


@pytest.fixture(scope="module")
def keyed() -> Any:
    from qianfan_chat.server import LocalServer

    with LocalServer(ak_sk={"ak1": "sk1", "ak2": "sk2"}, token_lifetime=1) as server:
        yield server


@pytest.mark.parametrize(
    ("query", "status", "body"), [r[1:] for r in CONFIGURED], ids=[r[0] for r in CONFIGURED]
)
def test_oauth_configured_pairs(
    keyed: Any, client: httpx.Client, query: dict[str, str], status: int, body: Any
) -> None:
    response = client.post(keyed.url("/oauth/2.0/token"), params={"grant_type": GRANT, **query})
    assert response.status_code == status
    if body is None:
        assert response.json()["expires_in"] == 1
        assert response.headers["x-bce-request-id"]
    else:
        assert response.json() == body


def test_oauth_accepts_a_form_body(keyed: Any, client: httpx.Client) -> None:
    form = {"grant_type": GRANT, "client_id": "ak1", "client_secret": "sk1"}
    response = client.post(keyed.url("/oauth/2.0/token"), data=form)
    assert response.json()["access_token"]


def test_token_expires_after_its_lifetime(keyed: Any, client: httpx.Client) -> None:
    query = {"grant_type": GRANT, "client_id": "ak1", "client_secret": "sk1"}
    token = client.post(keyed.url("/oauth/2.0/token"), params=query).json()["access_token"]
    url = keyed.chat_url("completions")
    body = {"messages": user("hi")}
    assert "result" in client.post(url, params={"access_token": token}, json=body).json()
    time.sleep(1.05)  # The configured lifetime is 1 s.
    expired = client.post(url, params={"access_token": token}, json=body).json()
    assert expired == {"error_code": 111, "error_msg": "Access token expired"}


# (id, query) -> error 110 on the shared server
BAD_TOKENS = [
    ("missing", {}),
    ("empty", {"access_token": ""}),
    ("unknown", {"access_token": "24.deadbeef.2592000.1.1-1"}),
]


@pytest.mark.parametrize("params", [r[1] for r in BAD_TOKENS], ids=[r[0] for r in BAD_TOKENS])
def test_bad_access_token(api: Api, params: dict[str, str]) -> None:
    response = api.chat({"messages": user("hi")}, params=params)
    assert response.json() == {
        "error_code": 110,
        "error_msg": "Access token invalid or no longer valid",
    }


def test_expired_token_via_python_api(api: Api) -> None:
    token = api.server.issue_token("someone")
    assert api.server.expire_token(token)
    assert api.chat({"messages": user("hi")}, token=token).json()["error_code"] == 111


def test_static_access_tokens(serve: Any) -> None:
    ready = serve(access_tokens=["my-ready-token"])
    assert ready.chat({"messages": user("hi")}, token="my-ready-token").json()["result"]
    assert ready.log()[-1]["key"] == "my-ready-token"


def signed(
    api: Api,
    body: dict[str, Any],
    *,
    ak: str = IAM_AK,
    sk: str = IAM_SK,
    suffix: str = "completions",
    query: str = "",
    now: datetime | None = None,
    tamper: dict[str, str] | None = None,
) -> httpx.Response:
    request = api.client.build_request("POST", api.server.chat_url(suffix) + query, json=body)
    headers = {"host": request.headers["host"], "content-type": "application/json"}
    auth = sign_request_headers(
        access_key=ak,
        secret_key=sk,
        method="POST",
        url=str(request.url),
        headers=headers,
        now=now,
    )
    request.headers.update({**auth, **(tamper or {})})
    return api.client.send(request)


def test_iam_signature_accepted(api: Api) -> None:
    response = signed(api, {"messages": user("你好")})
    assert response.json()["result"] == "您好！有什么我可以帮助您的吗？"
    entry = api.log()[-1]
    assert entry["key"] == IAM_AK
    assert entry["headers"]["authorization"].startswith("bce-auth-v1/" + IAM_AK)


def test_iam_signature_with_query_and_unicode_path(serve: Any) -> None:
    iam = serve(iam_keys={IAM_AK: IAM_SK}, custom_endpoints=["服务 a"])
    response = signed(iam, {"messages": user("hi")}, suffix="服务 a", query="?x=1&y=a%2Fb")
    assert "result" in response.json(), response.json()


IAM_FAILED = {"error_code": 14, "error_msg": "IAM Certification failed"}
IAM_BAD: list[tuple[str, dict[str, Any]]] = [
    ("wrong-secret", {"sk": "not-the-secret"}),
    ("unknown-access-key", {"ak": "other-ak"}),
    ("expired", {"now": datetime.now(timezone.utc) - timedelta(hours=2)}),
    ("future", {"now": datetime.now(timezone.utc) + timedelta(hours=2)}),
    ("tampered-date", {"tamper": {"x-bce-date": "2020-01-01T00:00:00Z"}}),
    ("malformed", {"tamper": {"Authorization": "bce-auth-v1/garbage"}}),
]


@pytest.mark.parametrize("kwargs", [r[1] for r in IAM_BAD], ids=[r[0] for r in IAM_BAD])
def test_iam_signature_refused(api: Api, kwargs: dict[str, Any]) -> None:
    assert signed(api, {"messages": user("hi")}, **kwargs).json() == IAM_FAILED


def test_iam_has_no_open_mode(serve: Any) -> None:
    # A server with no IAM keys cannot check any signature: every one is refused.
    no_iam = serve()
    assert signed(no_iam, {"messages": user("hi")}).json() == IAM_FAILED


def test_signature_checked_before_body_rules(api: Api) -> None:
    # An unauthenticated caller learns nothing about its body.
    assert signed(api, {"messages": []}, sk="wrong").json() == IAM_FAILED
    assert signed(api, {"messages": []}).json()["error_code"] == 336003
