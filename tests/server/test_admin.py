"""Admin routes and the request log."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Api, user


def test_health(api: Api) -> None:
    api.server.add_rule(contains="x", text="y")
    data = api.admin("GET", "health").json()
    assert data["status"] == "ok"
    assert data["open_mode"] is True
    assert data["rules"] == 1
    assert data["faults"] == 0


def test_request_log_entry(api: Api) -> None:
    body = {"messages": user("记录我"), "temperature": 0.5}
    api.chat(body, headers={"X-Bce-Request-Id": "rid-1", "X-Custom": "v"})
    (entry,) = api.admin("GET", "requests").json()["requests"]
    assert entry["method"] == "POST"
    assert entry["path"] == "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"
    assert entry["query"] == {"access_token": "***"}  # secrets masked over HTTP
    assert entry["query_string"] == "access_token=***"
    assert entry["headers"]["x-custom"] == "v"
    assert entry["headers"]["content-type"] == "application/json"
    assert json.loads(entry["body"]) == body
    assert entry["status"] == 200
    assert entry["error_code"] is None
    assert entry["request_id"] == "rid-1"
    assert entry["key"] == "test-ak"
    assert entry["faults"] == []
    assert entry["stream"] is False
    assert entry["time"] <= entry["answered_at"]
    assert entry["client"].startswith("127.0.0.1:")
    assert api.server.requests(masked=True) == [entry]
    assert api.server.requests()[0]["query"] == {"access_token": api.token}  # in-process view


def test_log_records_errors_and_every_baidu_route(api: Api) -> None:
    api.chat({"messages": []})
    api.client.get(api.server.url("/nowhere?x=1"))
    api.client.post(api.server.url("/oauth/2.0/token"), params={"grant_type": "x"})
    api.admin("GET", "health")  # Admin calls are not logged.
    log = api.log()
    assert [(e["path"], e["status"], e["error_code"]) for e in log] == [
        ("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant", 200, 336003),
        ("/nowhere", 200, 3),
        ("/oauth/2.0/token", 400, None),
    ]
    assert log[1]["query"] == {"x": "1"}


def test_log_clear(api: Api) -> None:
    api.chat({"messages": user("a")})
    assert api.admin("DELETE", "requests").json() == {"requests": []}
    assert api.log() == []
    api.chat({"messages": user("b")})
    api.server.clear_requests()
    assert api.server.requests() == []


def test_log_is_bounded(serve: Any) -> None:
    small = serve(log_size=3, log_body_chars=10)
    for i in range(5):
        small.chat({"messages": user(f"message {i}")})
    log = small.log()
    assert len(log) == 3
    assert all(len(e["body"]) == 10 for e in log)


def test_reset_route(api: Api) -> None:
    api.server.add_rule(contains="a", text="A")
    api.server.set_faults({"latency": 0.001})
    api.server.set_rate_limits(rpm=100)
    api.chat({"messages": user("a")})
    assert api.admin("POST", "reset").json() == {"status": "reset"}
    assert api.admin("GET", "rules").json() == {"rules": []}
    assert api.admin("GET", "faults").json() == {"faults": []}
    assert api.admin("GET", "rate_limits").json()["rpm"] is None
    assert api.admin("GET", "requests").json() == {"requests": []}
    assert api.chat({"messages": user("a")}).json()["result"] != "A"


def test_admin_errors_are_json(api: Api) -> None:
    bad_json = api.client.post(
        api.server.url("/_admin/rules"),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert "invalid JSON" in bad_json.json()["error"]
    assert api.admin("POST", "rules").status_code == 400  # No body.
    missing = api.admin("GET", "nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found"}
    assert api.admin("PUT", "rules").status_code == 405


def test_admin_can_be_disabled(serve: Any) -> None:
    closed = serve(admin=False)
    response = closed.client.get(closed.server.url("/_admin/health"))
    assert response.json() == {"error_code": 3, "error_msg": "Unsupported openapi method"}
