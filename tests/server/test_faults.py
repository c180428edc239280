"""Fault injection over real connections: error codes, HTTP statuses, dropped connections,
cut streams, latency, token expiry, filters, the admin route, and seeded determinism."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from qianfan_chat.server import Fault, LocalServer

from .conftest import CUSTOM, SEED, Api, sse_events, user

HI = {"messages": user("hi")}


def test_error_code_fault_fires_once(api: Api) -> None:
    api.server.set_faults({"error_code": 18, "times": 1})
    first = api.chat(HI)
    assert first.status_code == 200
    assert first.json() == {"error_code": 18, "error_msg": "Open api qps request limit reached"}
    assert api.chat(HI).json()["result"]
    log = api.log()
    assert [e["faults"] for e in log] == [["error_code"], []]
    assert [e["error_code"] for e in log] == [18, None]


# (id, fault, status, body error_code, Retry-After header)
STATUSES: list[tuple[str, dict[str, Any], int, int, str | None]] = [
    ("500", {"http_status": 500}, 500, 336000, None),
    ("502", {"http_status": 502}, 502, 2, None),
    ("503", {"http_status": 503}, 503, 336100, None),
    ("429", {"http_status": 429}, 429, 18, None),
    ("429-retry-after", {"http_status": 429, "retry_after": 2}, 429, 18, "2"),
    ("503-retry-after-float", {"http_status": 503, "retry_after": 0.5}, 503, 336100, "0.5"),
    ("503-custom-code", {"kind": "http_status", "status": 503, "error_code": 2}, 503, 2, None),
]


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [r[1:] for r in STATUSES],
    ids=[r[0] for r in STATUSES],
)
def test_http_status_fault(
    api: Api, fault: dict[str, Any], status: int, code: int, retry_after: str | None
) -> None:
    api.server.set_faults({**fault, "times": 1})
    response = api.chat(HI)
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code
    assert body["error_msg"]
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["x-bce-request-id"]
    assert api.chat(HI).status_code == 200
    assert api.log()[0]["status"] == status


def test_drop_sync(api: Api) -> None:
    api.server.set_faults({"drop": True, "times": 1})
    with pytest.raises(httpx.TransportError):
        api.chat(HI)
    assert api.chat(HI).json()["result"]  # The same client and server go on.
    dropped = api.log()[0]
    assert (dropped["faults"], dropped["status"]) == (["drop"], None)


async def test_drop_async(api: Api) -> None:
    api.server.set_faults({"drop": True, "times": 2})
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                await client.post(
                    api.server.chat_url("eb-instant"), params={"access_token": api.token}, json=HI
                )
        ok = await client.post(
            api.server.chat_url("eb-instant"), params={"access_token": api.token}, json=HI
        )
    assert ok.json()["result"]


STORY = "一。二。三。四。五。"


def stream_request(api: Api) -> dict[str, Any]:
    return {
        "url": api.server.chat_url("eb-instant"),
        "params": {"access_token": api.token},
        "json": {"messages": user("story"), "stream": True},
    }


@pytest.mark.parametrize("after", [0, 1, 3])
def test_stream_cut_clean(api: Api, after: int) -> None:
    api.server.add_rule(contains="story", text=STORY)
    api.server.set_faults({"stream_cut": after, "times": 1})
    events = api.stream({"messages": user("story")})
    assert len(events) == after
    assert not any(e["is_end"] for e in events)
    whole = api.stream({"messages": user("story")})
    assert whole[-1]["is_end"] is True
    assert api.log()[0]["faults"] == ["stream_cut"]


def test_stream_cut_abort_sync(api: Api) -> None:
    api.server.add_rule(contains="story", text=STORY)
    api.server.set_faults({"kind": "stream_cut", "after": 2, "abort": True, "times": 1})
    received = b""
    with pytest.raises(httpx.TransportError):  # noqa: PT012
        with api.client.stream("POST", **stream_request(api)) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received += chunk
    events = sse_events(received)
    assert len(events) == 2
    assert not any(e["is_end"] for e in events)
    assert api.stream({"messages": user("story")})[-1]["is_end"] is True


async def test_stream_cut_abort_async(api: Api) -> None:
    api.server.add_rule(contains="story", text=STORY)
    api.server.set_faults({"stream_cut": 1, "abort": True, "times": 1})
    received = b""
    async with httpx.AsyncClient(timeout=10) as client:
        with pytest.raises(httpx.TransportError):  # noqa: PT012
            async with client.stream("POST", **stream_request(api)) as response:
                async for chunk in response.aiter_raw():
                    received += chunk
    assert len(sse_events(received)) == 1


def test_stream_cut_ignores_plain_requests(api: Api) -> None:
    api.server.set_faults({"stream_cut": 0, "times": 1})
    assert api.chat(HI).json()["result"]
    assert api.server.state.faults.describe()[0]["fired"] == 0


async def test_latency_is_applied(api: Api) -> None:
    # The slow request is sent first and answered last: ordering, not a speed threshold.
    api.server.set_faults({"latency": 0.5, "model": "completions"})
    async with httpx.AsyncClient(timeout=10) as client:

        async def call(suffix: str) -> httpx.Response:
            return await client.post(
                api.server.chat_url(suffix), params={"access_token": api.token}, json=HI
            )

        slow = asyncio.create_task(call("completions"))
        while not api.log():  # noqa: ASYNC110 - the server lives in another thread; poll its log.
            await asyncio.sleep(0.005)
        fast = await call("eb-instant")
        assert api.log()[0]["answered_at"] is None  # Still waiting.
        assert fast.json()["result"]
        assert (await slow).json()["result"]
    slow_entry, fast_entry = api.log()
    assert slow_entry["faults"] == ["latency"]
    assert fast_entry["faults"] == []
    assert slow_entry["time"] <= fast_entry["time"] <= fast_entry["answered_at"]
    assert fast_entry["answered_at"] <= slow_entry["answered_at"]


def test_latency_adds_to_another_fault(api: Api) -> None:
    api.server.set_faults({"latency": 0.01, "times": 1}, {"error_code": 2, "times": 1})
    assert api.chat(HI).json()["error_code"] == 2
    assert api.log()[0]["faults"] == ["latency", "error_code"]


def test_expire_token(api: Api) -> None:
    token = api.server.issue_token("expiring")
    api.server.set_faults({"expire_token": True, "times": 1})
    assert api.chat(HI, token=token).json()["error_code"] == 111
    assert api.chat(HI, token=token).json()["error_code"] == 111  # Expired for good.
    assert api.chat(HI, token=api.server.issue_token("expiring")).json()["result"]


# (id, fault filter, suffix, fires)
FILTERS: list[tuple[str, dict[str, Any], str, bool]] = [
    ("path-match", {"path": CUSTOM}, CUSTOM, True),
    ("path-miss", {"path": CUSTOM}, "eb-instant", False),
    ("model-match", {"model": "ERNIE-Bot-turbo"}, "eb-instant", True),
    ("model-miss", {"model": "ERNIE-Bot-turbo"}, "completions", False),
    ("probability-zero", {"probability": 0}, "eb-instant", False),
    ("oauth-only", {"route": "oauth"}, "eb-instant", False),
    ("any-route", {"route": "any"}, "eb-instant", True),
]


@pytest.mark.parametrize(
    ("where", "suffix", "fires"), [r[1:] for r in FILTERS], ids=[r[0] for r in FILTERS]
)
def test_fault_filters(api: Api, where: dict[str, Any], suffix: str, fires: bool) -> None:
    api.server.set_faults({"error_code": 336100, **where})
    data = api.chat(HI, suffix).json()
    assert (data.get("error_code") == 336100) is fires


def test_oauth_route_faults(api: Api) -> None:
    api.server.set_faults({"http_status": 503, "route": "oauth", "times": 1})
    url = api.server.url("/oauth/2.0/token")
    query = {"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    assert api.client.post(url, params=query).status_code == 503
    assert api.client.post(url, params=query).json()["access_token"]
    assert api.chat(HI).status_code == 200


def test_admin_faults_route(api: Api) -> None:
    added = api.admin("POST", "faults", [{"http_status": 503, "times": 1}, {"latency": 0.01}])
    assert added.status_code == 200
    assert [f["kind"] for f in added.json()["faults"]] == ["http_status", "latency"]
    assert api.chat(HI).status_code == 503
    listed = api.admin("GET", "faults").json()["faults"]
    assert [f["fired"] for f in listed] == [1, 1]
    assert api.admin("DELETE", "faults").json() == {"faults": []}
    assert api.chat(HI).status_code == 200
    for bad in [{"kind": "explode"}, {"http_status": 200}, {"latency": -1}, {"drop": "yes"}, {}]:
        response = api.admin("POST", "faults", bad)
        assert response.status_code == 400, bad
    assert api.admin("GET", "faults").json() == {"faults": []}


def test_faults_from_config(serve: Any) -> None:
    faulty = serve(faults=[Fault("error_code", error_code=2, times=1)])
    assert faulty.chat(HI).json()["error_code"] == 2
    assert faulty.chat(HI).json()["result"]
    faulty.server.reset()  # The start-up fault is back, with its count reset.
    assert faulty.chat(HI).json()["error_code"] == 2


def outcomes(api: Api, count: int = 24) -> list[int | None]:
    api.server.set_faults({"error_code": 336100, "probability": 0.5})
    return [api.chat(HI).json().get("error_code") for _ in range(count)]


def test_same_seed_same_fault_sequence(api: Api, serve: Any) -> None:
    first = outcomes(api)
    assert 0 < first.count(336100) < len(first)  # Really random...
    api.server.reset()
    assert outcomes(api) == first  # ...and replayed after a reset.
    assert outcomes(serve(seed=SEED)) == first  # Same seed, other server: same sequence.
    assert outcomes(serve(seed=SEED + 1)) != first


def test_bare_local_server_seed_default(client: httpx.Client) -> None:
    with LocalServer() as a, LocalServer() as b:
        seqs = []
        for server in (a, b):
            seqs.append(outcomes(Api(server, client, server.issue_token())))
        assert seqs[0] == seqs[1]
