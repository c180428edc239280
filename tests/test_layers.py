"""The package's layers, checked on the source: what may import what, where each wire fact is
written, and the curated public surface (ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import qianfan_chat
from qianfan_chat._protocol import wire

PACKAGE = Path(qianfan_chat.__file__).parent
PRODUCTS = ("server", "langchain", "cli", "testing", "batchrun")


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # absolute, e.g. "qianfan_chat._client" or "os.path"
    names: tuple[str, ...]  # what a "from ... import" takes


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):  # TYPE_CHECKING and function-level imports count too
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield Import(path, node.lineno, module, names)


def _sources(*under: str) -> list[Path]:
    roots = [PACKAGE / u for u in under] if under else [PACKAGE]
    out: list[Path] = []
    for root in roots:
        out += [root.with_suffix(".py")] if root.with_suffix(".py").exists() else []
        out += sorted(root.rglob("*.py")) if root.is_dir() else []
    return out


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(PACKAGE.parent)}:{imp.line} imports {imp.module}"


def test_protocol_imports_only_the_standard_library_and_itself() -> None:
    bad = []
    for path in _sources("_protocol"):
        for imp in _imports(path):
            top = imp.module.split(".")[0]
            inside = imp.module.startswith("qianfan_chat._protocol")
            if not inside and (top == "qianfan_chat" or top not in sys.stdlib_module_names):
                bad.append(_where(imp))
    assert bad == []


def test_products_use_the_client_only_through_its_public_names() -> None:
    """server/, langchain/, cli/ and testing.py may import the protocol core, each other and
    the names in ``qianfan_chat.__all__``; never a private client module."""
    public = set(qianfan_chat.__all__)
    allowed = ("qianfan_chat._protocol", *(f"qianfan_chat.{p}" for p in PRODUCTS))
    bad = []
    for path in _sources(*PRODUCTS):
        for imp in _imports(path):
            if not imp.module.startswith("qianfan_chat"):
                continue
            if imp.module == "qianfan_chat":
                bad += [f"{_where(imp)}.{n}" for n in imp.names if n not in public]
            elif not imp.module.startswith(allowed):
                bad.append(_where(imp))
    assert bad == []


def test_the_scan_sees_private_imports() -> None:
    """The layer checks above would pass vacuously if the scan missed relative imports."""
    client = [i.module for i in _imports(PACKAGE / "_client.py")]
    assert "qianfan_chat._flow" in client
    flow = [(i.module, i.names) for i in _imports(PACKAGE / "_flow.py")]
    assert ("qianfan_chat._protocol", ("wire",)) in flow


# -- every wire literal written once -------------------------------------------------------

# The facts whose spelling must live in _protocol/wire.py alone (paths and hosts as substrings
# of any string constant; header names and the other names compared whole, case-insensitively).
# The appid header is left out: "appid" is also the name of a setting and a keyword argument.
WIRE_SUBSTRINGS = (
    wire.V1_BASE_URL,
    wire.V2_BASE_URL,
    wire.IAM_BASE_URL,
    wire.V1_API_PREFIX,
    wire.OAUTH_PATH,
    wire.V2_CHAT_PATH,
    wire.V2_MODELS_PATH,
    wire.BEARER_PATH,
    wire.V2_FILES_PATH,
    wire.V2_BATCHES_PATH,
    wire.V2_KEY_PREFIX,
)
WIRE_NAMES = (
    wire.V1_REQUEST_ID_HEADER,
    wire.V2_REQUEST_ID_HEADER,
    wire.BCE_ERROR_CODE_HEADER,
    wire.BCE_ERROR_MESSAGE_HEADER,
    wire.BEARER_LIFETIME_PARAM,
    wire.OAUTH_GRANT_TYPE,
    wire.V2_STREAM_END,
)
WIRE_NUMBERS = (wire.OAUTH_LIFETIME, wire.BEARER_REQUESTED_LIFETIME)
WIRE_HOME = PACKAGE / "_protocol" / "wire.py"


def _docstrings(tree: ast.AST) -> set[int]:
    """Bare string statements: module, class and function docstrings, and the attribute
    docstrings under fields. Documentation may name a wire fact; code may not."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _constants(path: Path) -> Iterator[tuple[int, object]]:
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in skip:
            value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            yield node.lineno, value


def test_every_wire_literal_is_written_once() -> None:
    spelled: dict[str, list[str]] = {}
    for path in _sources():
        for line, value in _constants(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            facts: list[object] = []
            if isinstance(value, str):
                facts += [s for s in WIRE_SUBSTRINGS if s in value]
                facts += [n for n in WIRE_NAMES if value.lower() == n.lower()]
            elif isinstance(value, int) and not isinstance(value, bool):
                facts += [n for n in WIRE_NUMBERS if value == n]
            for fact in facts:
                spelled.setdefault(str(fact), []).append(where)
    elsewhere = {
        fact: places
        for fact, places in spelled.items()
        if any(not p.startswith(str(WIRE_HOME.relative_to(PACKAGE.parent))) for p in places)
    }
    assert elsewhere == {}
    # Each fact is in wire.py, once (the scan found it there: it is not vacuous).
    assert sorted(spelled) == sorted(str(f) for f in (*WIRE_SUBSTRINGS, *WIRE_NAMES, *WIRE_NUMBERS))


@pytest.mark.parametrize(
    ("model_id", "home"),
    [pytest.param("ernie-lite-8k", "_protocol/models_v2.py", id="default-v2-model")],
)
def test_default_models_have_one_home(model_id: str, home: str) -> None:
    places = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in _sources()
        for line, value in _constants(path)
        if value == model_id
    ]
    assert places, f"{model_id!r} is written nowhere: the scan is broken"
    assert all(p.startswith(home) for p in places), places


# -- the public surface --------------------------------------------------------------------

PUBLIC = [
    "AK",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccessKey",
    "AccessToken",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchInput",
    "BatchRequestFuture",
    "BatchResult",
    "BatchStatus",
    "Batches",
    "CATALOGUE_TTL_SECONDS",
    "CatalogueModel",
    "ChatCompletion",
    "ChatStream",
    "Citation",
    "CredentialsError",
    "FileObject",
    "Files",
    "InvalidRequestError",
    "Messages",
    "NotFoundError",
    "PermissionDeniedError",
    "QfMessages",
    "QfRequest",
    "QfResponse",
    "QfRole",
    "QianfanError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestCounts",
    "Response",
    "Role",
    "SK",
    "SearchResult",
    "SecretKey",
    "ServerError",
    "Settings",
    "StreamInterruptedError",
    "TextOnlyModelWarning",
    "TokenRejectedError",
    "UnknownModelError",
    "UnlistedParameterWarning",
    "UnsupportedOptionWarning",
    "alist_models",
    "clear_catalogue_cache",
    "cost_of",
    "disable_log",
    "enable_log",
    "get_config",
    "image_data_url",
    "image_part",
    "list_models",
]


def test_public_names_are_curated() -> None:
    """A name joins (or leaves) the public API on purpose: change this list with it."""
    assert sorted(qianfan_chat.__all__) == PUBLIC
    assert dir(qianfan_chat) == PUBLIC
    for name in PUBLIC:
        assert getattr(qianfan_chat, name) is not None
    with pytest.raises(AttributeError):
        _ = qianfan_chat.NotAName  # type: ignore[attr-defined]
