"""Scripted rules (TEST DATA): matching, answers, ``times``, the Python API, the admin route
and rules files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from qianfan_chat.server import Rule

from .conftest import CUSTOM, Api, user

# (id, rule, question, suffix, expected result or None when the rule must not match)
MATCHING: list[tuple[str, dict[str, Any], str, str, str | None]] = [
    ("contains", {"contains": "天气"}, "今天天气好吗", "eb-instant", "R"),
    ("contains-miss", {"contains": "天气"}, "今天好吗", "eb-instant", None),
    ("contains-case-sensitive", {"contains": "Hello"}, "hello there", "eb-instant", None),
    ("regex", {"regex": r"^\d+\s*\+\s*\d+$"}, "12 + 30", "eb-instant", "R"),
    ("regex-search", {"regex": "wor(ld)?"}, "hello world", "eb-instant", "R"),
    ("regex-miss", {"regex": r"^\d+$"}, "12a", "eb-instant", None),
    ("any", {}, "anything", "eb-instant", "R"),
    ("model-name", {"model": "ERNIE-Bot"}, "hi", "completions", "R"),
    ("model-alias-case", {"model": "ernie-bot 4.0"}, "hi", "completions_pro", "R"),
    ("model-other", {"model": "ERNIE-Bot"}, "hi", "eb-instant", None),
    ("model-suffix", {"model": "eb-instant"}, "hi", "eb-instant", "R"),
    ("model-turbo-alias", {"model": "ERNIE-Bot-turbo"}, "hi", "eb-instant", "R"),
    ("model-custom-endpoint", {"model": CUSTOM}, "hi", CUSTOM, "R"),
    ("role-user", {"role": "user", "contains": "hi"}, "hi", "eb-instant", "R"),
    ("role-function-miss", {"role": "function"}, "hi", "eb-instant", None),
    (
        "all-conditions",
        {"model": "ERNIE-Bot", "contains": "a", "regex": "b$"},
        "ab",
        "completions",
        "R",
    ),
]


@pytest.mark.parametrize(
    ("rule", "text", "suffix", "expected"),
    [r[1:] for r in MATCHING],
    ids=[r[0] for r in MATCHING],
)
def test_rule_matching(
    api: Api, rule: dict[str, Any], text: str, suffix: str, expected: str | None
) -> None:
    api.server.add_rule(text="R", **rule)
    result = api.ask(text, suffix)["result"]
    if expected is None:
        assert result != "R"
    else:
        assert result == expected


def test_rule_matches_last_message_whatever_its_role(api: Api) -> None:
    api.server.add_rule(contains="25", text="got the function result")
    messages = [
        *user("天气"),
        {"role": "assistant", "content": "", "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": '{"temp": 25}'},
    ]
    assert api.chat({"messages": messages}).json()["result"] == "got the function result"


def test_first_matching_rule_wins(api: Api) -> None:
    api.server.add_rule(contains="a", text="first")
    api.server.add_rule(contains="a", text="second")
    assert api.ask("a")["result"] == "first"


def test_times_limits_a_rule(api: Api) -> None:
    api.server.add_rule(contains="q", text="once", times=1)
    api.server.add_rule(contains="q", text="twice", times=2)
    results = [api.ask("q")["result"] for _ in range(4)]
    assert results[:3] == ["once", "twice", "twice"]
    assert results[3].startswith("您说的是")
    fired = [r["fired"] for r in api.admin("GET", "rules").json()["rules"]]
    assert fired == [1, 2]


# (id, rule answer, expected reply fields)
ANSWERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("error-code", {"error_code": 336100}, {"error_code": 336100}),
    (
        "error-with-message",
        {"error_code": 17, "error_msg": "custom text"},
        {"error_code": 17, "error_msg": "custom text"},
    ),
    (
        "unsafe-input",
        {"text": "", "need_clear_history": True, "finish_reason": "content_filter"},
        {"need_clear_history": True, "ban_round": -1, "finish_reason": "content_filter"},
    ),
    ("ban-round", {"text": "x", "need_clear_history": True, "ban_round": 2}, {"ban_round": 2}),
    ("finish-reason", {"text": "x", "finish_reason": "length"}, {"finish_reason": "length"}),
]


@pytest.mark.parametrize(
    ("answer", "expected"), [r[1:] for r in ANSWERS], ids=[r[0] for r in ANSWERS]
)
def test_rule_answers(api: Api, answer: dict[str, Any], expected: dict[str, Any]) -> None:
    api.server.add_rule(contains="x", **answer)
    data = api.ask("x")
    for key, value in expected.items():
        assert data[key] == value
    if "error_code" in expected:
        assert set(data) == {"error_code", "error_msg"}
        assert data["error_msg"]


BAD_RULES: list[tuple[str, Any]] = [
    ("no-answer", {"contains": "x"}),
    ("two-answers", {"text": "a", "error_code": 1}),
    ("unknown-key", {"text": "a", "contain": "x"}),
    ("bad-regex", {"text": "a", "regex": "("}),
    ("times-negative", {"text": "a", "times": -1}),
    ("error-code-string", {"error_code": "17"}),
    ("call-without-name", {"function_call": {"arguments": "{}"}}),
    ("empty-tool-calls", {"tool_calls": []}),
    ("chunks-mismatch", {"text": "ab", "chunks": ["a"]}),
    ("chunks-with-error", {"error_code": 1, "chunks": ["a"]}),
    ("contains-number", {"text": "a", "contains": 5}),
    ("not-an-object", "text"),
]


@pytest.mark.parametrize("rule", [r[1] for r in BAD_RULES], ids=[r[0] for r in BAD_RULES])
def test_bad_rules_are_refused(api: Api, rule: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        Rule.from_dict(rule)
    response = api.admin("POST", "rules", rule)
    assert response.status_code == 400
    assert response.json()["error"]
    assert api.admin("GET", "rules").json()["rules"] == []


def test_admin_rules_route(api: Api) -> None:
    one = api.admin("POST", "rules", {"contains": "a", "text": "A"})
    assert one.json()["added"] == [{"contains": "a", "text": "A"}]
    many = api.admin("POST", "rules", [{"contains": "b", "text": "B"}, {"regex": "c", "text": "C"}])
    assert len(many.json()["rules"]) == 3
    assert [api.ask(q)["result"] for q in "abc"] == ["A", "B", "C"]
    listed = api.admin("GET", "rules").json()["rules"]
    assert [r["fired"] for r in listed] == [1, 1, 1]
    assert api.admin("DELETE", "rules").json() == {"rules": []}
    assert api.ask("a")["result"] != "A"


def test_python_api(api: Api) -> None:
    engine = api.server.engine
    rule = engine.add_rule(Rule(contains="a", text="A"))
    engine.add_rule({"contains": "b", "text": "B"})
    api.server.add_rules([{"contains": "c", "text": "C"}])
    assert engine.rules[0] is rule
    assert [api.ask(q)["result"] for q in "abc"] == ["A", "B", "C"]
    api.server.clear_rules()
    assert engine.rules == []


def write_rules(tmp_path: Path, kind: str) -> Path:
    if kind == "json-list":
        path = tmp_path / "rules.json"
        path.write_text(json.dumps([{"contains": "file", "text": "from a file"}]))
    elif kind == "json-object":
        path = tmp_path / "rules.json"
        path.write_text(json.dumps({"rules": [{"contains": "file", "text": "from a file"}]}))
    else:
        path = tmp_path / "rules.toml"
        path.write_text('[[rules]]\ncontains = "file"\ntext = "from a file"\n', "utf-8")
    return path


@pytest.mark.parametrize("kind", ["json-list", "json-object", "toml"])
def test_rules_file(serve: Any, tmp_path: Path, kind: str) -> None:
    if kind == "toml" and sys.version_info < (3, 11):
        pytest.skip("TOML needs Python 3.11")
    api = serve(rules_file=str(write_rules(tmp_path, kind)), rules=[{"regex": ".", "text": "x"}])
    assert api.ask("file?")["result"] == "from a file"  # File rules come first.
    assert api.ask("other")["result"] == "x"
    api.server.clear_rules()
    assert api.ask("file?")["result"] != "from a file"
    api.server.reset()  # Back to the start-up rules.
    assert api.ask("file?")["result"] == "from a file"
