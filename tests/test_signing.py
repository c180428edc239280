"""bce-auth-v1 signing and verification against Baidu's published vectors and round trips.

Spec: https://cloud.baidu.com/doc/Reference/s/njwvz1yfu (vectors 1-3 are Baidu's own examples).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from qianfan_chat._protocol.signing import (
    ParsedAuthorization,
    SignatureError,
    canonical_request,
    format_timestamp,
    parse_authorization,
    sign,
    sign_request_headers,
    signing_key,
    uri_encode,
    verify,
)

AK, SK = "a" * 32, "b" * 32
T2015, T2024 = "2015-04-27T08:23:49Z", "2024-11-11T09:21:25Z"
UTC = timezone.utc


@dataclass(frozen=True)
class Vector:
    access_key: str
    secret_key: str
    timestamp: str
    expiration: int
    method: str
    path: str
    query: Mapping[str, str | None]
    headers: Mapping[str, str]
    signed_headers: Sequence[str] | None
    authorization: str
    extra: Mapping[str, str] = field(default_factory=dict)

    def sign(self) -> str:
        return sign(
            access_key=self.access_key,
            secret_key=self.secret_key,
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.headers,
            timestamp=self.timestamp,
            expiration=self.expiration,
            signed_headers=self.signed_headers,
        )

    def canonical(self) -> str:
        return canonical_request(
            self.method, self.path, self.query, self.headers, self.signed_headers
        )


BOS_HEADERS = {
    "Host": "bj.bcebos.com",
    "Content-Type": "text/plain",
    "Content-Length": "8",
    "Content-Md5": "NFzcPqhviddjRNnSOGo4rw==",
    "x-bce-date": T2015,
}
BOS_QUERY = {"partNumber": "9", "uploadId": "a44cc9bab11cbd156984767aad637851"}
BOS_PATH = "/v1/test/myfolder/readme.txt"
PREFIX = "bce-auth-v1/" + AK

VECTORS = {
    "1-bos-default-headers": Vector(
        AK, SK, T2015, 1800, "PUT", BOS_PATH, BOS_QUERY, BOS_HEADERS, None,
        f"{PREFIX}/{T2015}/1800//"
        "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e",
        extra={
            "signing_key": "1d5ce5f464064cbee060330d973218821825ac6952368a482a592e6615aef479",
            "canonical_headers": "content-length:8\ncontent-md5:NFzcPqhviddjRNnSOGo4rw%3D%3D\n"
            "content-type:text%2Fplain\nhost:bj.bcebos.com\n"
            "x-bce-date:2015-04-27T08%3A23%3A49Z",
        },
    ),
    "2-bos-host-date": Vector(
        AK, SK, T2015, 1800, "PUT", BOS_PATH, BOS_QUERY, BOS_HEADERS, ("host", "x-bce-date"),
        f"{PREFIX}/{T2015}/1800/host;x-bce-date/"
        "1b8de5a23a56eef657c69f94c621e7acd227d049a4ba577f537d5e5cebf0cf32",
    ),
    "3-empty-query-values": Vector(
        "my_ak", "my_sk", "2014-06-13T05:57:36Z", 1800, "PUT", "/v1/bucket/object1",
        {"A": None, "b": "", "C": "d"},
        {"Host": "bce.baidu.com", "x-bce-meta-key1": "ABC"},
        ("host", "x-bce-meta-key1"),
        "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/host;x-bce-meta-key1/"
        "80c9672aca2ea9af4bb40b9a8ff458d72df94e97d550840727f3a929af271d25",
        extra={"canonical_query": "A=&C=d&b="},
    ),
    "4-qianfan-v1-chat": Vector(
        AK, SK, T2024, 300, "POST", "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-lite-8k",
        {},
        {"Content-Type": "application/json", "Host": "aip.baidubce.com", "x-bce-date": T2024},
        ("content-type", "host", "x-bce-date"),
        f"{PREFIX}/{T2024}/300/content-type;host;x-bce-date/"
        "bb20229c622dc0b317b09f1d4937d0238f94584db68c12a750c0168dc060a169",
    ),
    "5-iam-bearer-token": Vector(
        AK, SK, T2024, 1800, "GET", "/v1/BCE-BEARER/token", {"expireInSeconds": "43200"},
        {"Host": "iam.bj.baidubce.com", "x-bce-date": T2024},
        ("host", "x-bce-date"),
        f"{PREFIX}/{T2024}/1800/host;x-bce-date/"
        "92a5e25a1d32499620c857691bdb42d33b91bc0a716091a07e06b197f6f62a60",
    ),
    "6-encoding-corners": Vector(
        AK, SK, T2024, 1800, "GET", "/v1/测试/a b",
        {"b": "x/y z", "A": "", "authorization": "zzz", "c": "测"},
        {"Host": "example.com"},
        ("host",),
        f"{PREFIX}/{T2024}/1800/host/"
        "68cac75d074b75e9e6e530124e3c2fd931b4707cae4dcd4d6f9e449a3db85e54",
        extra={
            "canonical_request": "GET\n/v1/%E6%B5%8B%E8%AF%95/a%20b\n"
            "A=&b=x%2Fy%20z&c=%E6%B5%8B\nhost:example.com"
        },
    ),
}  # fmt: skip
VECTOR_PARAMS = [pytest.param(v, id=k) for k, v in VECTORS.items()]


def _at(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _verify(v: Vector, authorization: str, **overrides: object) -> str:
    kwargs: dict[str, object] = {
        "authorization": authorization,
        "method": v.method,
        "path": v.path,
        "query": v.query,
        "headers": v.headers,
        "secret_keys": {v.access_key: v.secret_key},
        "now": _at(v.timestamp),
    }
    kwargs.update(overrides)
    return verify(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("vector", VECTOR_PARAMS)
def test_authorization_matches_vector(vector: Vector) -> None:
    assert vector.sign() == vector.authorization


@pytest.mark.parametrize(
    ("vector", "part", "check"),
    [
        pytest.param(
            VECTORS["1-bos-default-headers"],
            "signing_key",
            lambda v: signing_key(v.secret_key, f"bce-auth-v1/{AK}/{T2015}/1800"),
            id="1-signing-key",
        ),
        pytest.param(
            VECTORS["1-bos-default-headers"],
            "canonical_headers",
            lambda v: v.canonical().split("\n", 3)[3],
            id="1-canonical-headers",
        ),
        pytest.param(
            VECTORS["3-empty-query-values"],
            "canonical_query",
            lambda v: v.canonical().split("\n")[2],
            id="3-canonical-query",
        ),
        pytest.param(
            VECTORS["6-encoding-corners"],
            "canonical_request",
            lambda v: v.canonical(),
            id="6-canonical-request",
        ),
    ],
)
def test_intermediate_values(vector: Vector, part: str, check: Callable[[Vector], str]) -> None:
    assert check(vector) == vector.extra[part]


@pytest.mark.parametrize(
    ("value", "keep_slash", "expected"),
    [
        pytest.param("AZaz09-._~", False, "AZaz09-._~", id="unreserved-kept"),
        pytest.param("a b+c*", False, "a%20b%2Bc%2A", id="space-plus-star"),
        pytest.param("a/b", False, "a%2Fb", id="slash-encoded"),
        pytest.param("/a/b c", True, "/a/b%20c", id="slash-kept-in-path"),
        pytest.param("测", False, "%E6%B5%8B", id="utf8-upper-hex"),
    ],
)
def test_uri_encode(value: str, keep_slash: bool, expected: str) -> None:
    assert uri_encode(value, keep_slash=keep_slash) == expected


def test_canonical_request_keeps_empty_query_line_and_skips_empty_headers() -> None:
    headers = {"Host": " example.com ", "X-Bce-Empty": "  "}
    assert canonical_request("get", "", [], headers, None) == "GET\n/\n\nhost:example.com"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param(datetime(2024, 11, 11, 9, 21, 25, 999, tzinfo=UTC), T2024, id="utc"),
        pytest.param(datetime(2024, 11, 11, 9, 21, 25), T2024, id="naive-is-utc"),
        pytest.param(
            datetime(2024, 11, 11, 17, 21, 25, tzinfo=timezone(timedelta(hours=8))),
            T2024,
            id="beijing-converted",
        ),
    ],
)
def test_format_timestamp(when: datetime, expected: str) -> None:
    assert format_timestamp(when) == expected


@pytest.mark.parametrize("vector", VECTOR_PARAMS)
def test_round_trip_verifies(vector: Vector) -> None:
    assert _verify(vector, vector.sign()) == vector.access_key


@pytest.mark.parametrize("vector", [p for p in VECTOR_PARAMS if VECTORS[str(p.id)].signed_headers])
def test_verify_ignores_signed_header_order(vector: Vector) -> None:
    parsed = parse_authorization(vector.authorization)
    reordered = ";".join(reversed(parsed.signed_headers))
    auth = f"{parsed.prefix}/{reordered}/{parsed.signature}"
    assert _verify(vector, auth) == vector.access_key


def test_verify_header_lookup_is_case_insensitive() -> None:
    v = VECTORS["4-qianfan-v1-chat"]
    shouted = {k.upper(): val for k, val in v.headers.items()}
    assert _verify(v, v.authorization, headers=shouted) == AK


def test_parse_authorization_fields() -> None:
    assert parse_authorization(VECTORS["4-qianfan-v1-chat"].authorization) == ParsedAuthorization(
        AK,
        T2024,
        300,
        ("content-type", "host", "x-bce-date"),
        "bb20229c622dc0b317b09f1d4937d0238f94584db68c12a750c0168dc060a169",
    )


V5 = VECTORS["5-iam-bearer-token"]
GOOD = V5.authorization
SIG = GOOD.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("authorization", "overrides", "reason"),
    [
        pytest.param("Bearer abc", {}, "InvalidHTTPAuthHeader", id="wrong-scheme"),
        pytest.param(GOOD.rsplit("/", 1)[0], {}, "InvalidHTTPAuthHeader", id="missing-field"),
        pytest.param(GOOD.replace(T2024, "2024-11-11 09:21:25"), {}, "InvalidHTTPAuthHeader",
                     id="bad-timestamp"),
        pytest.param(GOOD.replace("/1800/", "/-5/"), {}, "InvalidHTTPAuthHeader",
                     id="bad-expiration"),
        pytest.param(GOOD.replace("host;x-bce-date", "x-bce-date"), {}, "InvalidHTTPAuthHeader",
                     id="host-not-signed"),
        pytest.param(GOOD.replace(SIG, SIG[:-1]), {}, "InvalidHTTPAuthHeader",
                     id="short-signature"),
        pytest.param(GOOD, {"secret_keys": {"other": SK}}, "InvalidAccessKeyId",
                     id="unknown-access-key"),
        pytest.param(GOOD, {"secret_keys": {AK: "c" * 32}}, "SignatureDoesNotMatch",
                     id="wrong-secret-key"),
        pytest.param(GOOD, {"method": "POST"}, "SignatureDoesNotMatch", id="method-changed"),
        pytest.param(GOOD, {"query": {"expireInSeconds": "1"}}, "SignatureDoesNotMatch",
                     id="query-changed"),
        pytest.param(GOOD, {"headers": {"Host": "evil.example", "x-bce-date": T2024}},
                     "SignatureDoesNotMatch", id="host-changed"),
        pytest.param(GOOD, {"now": _at(T2024) + timedelta(seconds=1801)}, "RequestExpired",
                     id="expired"),
        pytest.param(GOOD, {"now": _at(T2024) - timedelta(minutes=16)}, "RequestExpired",
                     id="too-far-in-future"),
    ],
)  # fmt: skip
def test_verify_rejects(authorization: str, overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        _verify(V5, authorization, **overrides)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(_at(T2024) + timedelta(seconds=1800), id="last-valid-second"),
        pytest.param(_at(T2024) - timedelta(minutes=15), id="max-clock-skew"),
    ],
)
def test_verify_accepts_edges_of_validity_window(now: datetime) -> None:
    assert _verify(V5, GOOD, now=now) == AK


def test_check_expiry_false_skips_clock() -> None:
    assert _verify(V5, GOOD, now=datetime(2030, 1, 1, tzinfo=UTC), check_expiry=False) == AK


def test_sign_requires_host_in_explicit_list() -> None:
    with pytest.raises(ValueError, match="host"):
        sign(access_key=AK, secret_key=SK, method="GET", path="/", query={}, headers={},
             signed_headers=["x-bce-date"])  # fmt: skip


def test_sign_defaults_to_now() -> None:
    auth = sign(access_key=AK, secret_key=SK, method="GET", path="/", query=None,
                headers={"Host": "h"})  # fmt: skip
    stamp = _at(parse_authorization(auth).timestamp)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("url", "headers", "host", "path", "query", "signed"),
    [
        pytest.param(
            "http://127.0.0.1:8765/v1/%E6%B5%8B%E8%AF%95/a%20b?q=x%2Fy%20z&e=&p=a+b",
            {"Content-Type": "application/json"},
            "127.0.0.1:8765",
            "/v1/测试/a b",
            [("q", "x/y z"), ("e", ""), ("p", "a b")],
            ("content-type", "host", "x-bce-date"),
            id="port-and-percent-encoded-query",
        ),
        pytest.param(
            "https://aip.baidubce.com:443/rpc/2.0/token?expireInSeconds=43200",
            {},
            "aip.baidubce.com",
            "/rpc/2.0/token",
            {"expireInSeconds": "43200"},
            ("host", "x-bce-date"),
            id="default-port-dropped",
        ),
        pytest.param(
            "http://[::1]:9000", {}, "[::1]:9000", "/", {}, ("host", "x-bce-date"), id="ipv6-root"
        ),
    ],
)
def test_sign_request_headers_verifies_server_side(
    url: str,
    headers: dict[str, str],
    host: str,
    path: str,
    query: object,
    signed: tuple[str, ...],
) -> None:
    now = _at(T2024)
    added = sign_request_headers(
        access_key=AK, secret_key=SK, method="post", url=url, headers=headers, now=now
    )
    assert set(added) == {"x-bce-date", "Authorization"}
    assert added["x-bce-date"] == T2024
    parsed = parse_authorization(added["Authorization"])
    assert parsed.signed_headers == signed
    # What the server sees: the client's headers, the added ones, and Host from the URL.
    received = {**headers, **added, "Host": host}
    assert _verify(VECTORS["5-iam-bearer-token"], added["Authorization"], method="POST",
                   path=path, query=query, headers=received, now=now) == AK  # fmt: skip
