"""``GET /v2/models`` on the local server (server/models_route.py): the capability table as an
OpenAI model list with the 2026 fields (TEST DATA: the table the package ships, not the live
catalogue), one entry by id, the custom endpoints, and chat's authorization."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat._protocol.models_v2 import V2_MODELS, v2_model

from .conftest import CUSTOM, V2, V2_KEY

ENTRY_FIELDS = {
    "id",
    "object",
    "owned_by",
    "created",
    "type",
    "context_length",
    "input_modalities",
    "output_modalities",
}
# protocol-v2-extensions.md section 4: the one live entry the facts file quotes.
FIXTURE = {
    "id": "deepseek-v3.1-think-250821",
    "object": "model",
    "type": "chat",
    "context_length": 163840,
    "max_completions_tokens": 65536,
    "max_tokens": 32768,
    "pricing": {"prompt": "0.004", "completion": "0.012"},
}


def models_url(v2: V2, tail: str = "") -> str:
    return f"{v2.server.v2_base_url}/models{tail}"


def listing(v2: V2) -> list[dict[str, Any]]:
    response = v2.client.get(models_url(v2), headers=v2.headers())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"object", "data"}
    assert data["object"] == "list"
    entries: list[dict[str, Any]] = data["data"]
    return entries


def test_list_is_the_table_plus_custom_endpoints(v2: V2) -> None:
    entries = listing(v2)
    ids = [e["id"] for e in entries]
    assert ids == [*V2_MODELS, CUSTOM]
    for entry in entries:
        assert set(entry) >= ENTRY_FIELDS
        assert entry["object"] == "model"
        assert isinstance(entry["created"], int)
        assert isinstance(entry["context_length"], int)


def test_fixture_entry_matches_the_facts_file(v2: V2) -> None:
    (entry,) = [e for e in listing(v2) if e["id"] == FIXTURE["id"]]
    assert {k: entry[k] for k in FIXTURE} == FIXTURE


# (id, model, fields the entry must have)
ENTRIES: list[tuple[str, str, dict[str, Any]]] = [
    ("vision", "ernie-4.5-turbo-vl", {"type": "multimodal", "input_modalities": ["text", "image"]}),
    ("text", "ernie-3.5-8k", {"type": "chat", "input_modalities": ["text"], "max_tokens": 2048}),
    ("free", "ernie-speed-8k", {"pricing": {"prompt": "0", "completion": "0"}}),
    ("output-cap", "ernie-x1.1", {"context_length": 65536, "max_tokens": 65536}),
    ("custom", CUSTOM, {"owned_by": "user", "type": "chat"}),
]


@pytest.mark.parametrize(("model", "fields"), [r[1:] for r in ENTRIES], ids=[r[0] for r in ENTRIES])
def test_entries(v2: V2, model: str, fields: dict[str, Any]) -> None:
    response = v2.client.get(models_url(v2, f"/{model}"), headers=v2.headers())
    assert response.status_code == 200
    entry = response.json()
    assert entry["id"] == model
    assert {k: entry[k] for k in fields} == fields
    spec = v2_model(model)
    if spec is not None:
        assert entry["context_length"] == spec.context_tokens
    (listed,) = [e for e in listing(v2) if e["id"] == model]
    assert listed == entry


def test_unpriced_and_uncapped_entries_leave_the_fields_out(v2: V2) -> None:
    (entry,) = [e for e in listing(v2) if e["id"] == "deepseek-v3"]
    assert "pricing" not in entry
    assert "max_completions_tokens" not in entry


def test_unknown_model_is_404(v2: V2) -> None:
    response = v2.client.get(models_url(v2, "/gpt-4o"), headers=v2.headers())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_method_not_allowed(v2: V2) -> None:
    response = v2.client.post(models_url(v2), headers=v2.headers(), json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_supported"


# (id, server config, Authorization header or None, status, code)
AUTH: list[tuple[str, dict[str, Any], str | None, int, str]] = [
    ("no-key", {}, None, 401, "invalid_iam_token"),
    (
        "restricted-wrong-key",
        {"api_keys": [V2_KEY]},
        "Bearer bce-v3/ALTAK-other/00",
        401,
        "invalid_iam_token",
    ),
    ("restricted-right-key", {"api_keys": [V2_KEY]}, f"Bearer {V2_KEY}", 200, ""),
    ("appid-wrong", {"app_ids": ["app-1"]}, f"Bearer {V2_KEY}", 401, "invalid_appid"),
]


@pytest.mark.parametrize(
    ("config", "authorization", "status", "code"), [r[1:] for r in AUTH], ids=[r[0] for r in AUTH]
)
def test_same_auth_as_chat(
    serve_v2: Any, config: dict[str, Any], authorization: str | None, status: int, code: str
) -> None:
    v2 = serve_v2(**config)
    headers = {"appid": "app-2"} if "app_ids" in config else {}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = v2.client.get(models_url(v2), headers=headers)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code
        chat = v2.client.post(v2.server.v2_chat_url, headers=headers, json={})
        assert chat.json()["error"]["code"] == code  # chat refuses the same caller alike
    entry = v2.server.requests()[-1 if not code else -2]
    assert entry["path"] == "/v2/models"


def test_v1_token_as_bearer_is_refused(v2: V2, session_token: str) -> None:
    response = v2.client.get(models_url(v2), headers={"Authorization": f"Bearer {session_token}"})
    assert response.status_code == 401


def test_minted_key_lists_models(v2: V2) -> None:
    key = v2.server.issue_api_key(expires_in=300)
    assert v2.client.get(models_url(v2), headers=v2.headers(key)).status_code == 200
    v2.server.expire_api_key(key)
    assert v2.client.get(models_url(v2), headers=v2.headers(key)).status_code == 401
