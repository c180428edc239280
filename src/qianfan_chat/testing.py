"""pytest fixtures for testing an app against the local Qianfan server (replies are TEST DATA).

Use them by listing the module as a plugin in a ``conftest.py``::

    pytest_plugins = ["qianfan_chat.testing"]

or by importing the fixtures you need (``from qianfan_chat.testing import qianfan_server``).

* ``qianfan_server``: a :class:`~qianfan_chat.server.LocalServer` started once per session and
  reset (rules, faults, seed, limits, log) before each test that uses it.
* ``qianfan_server_factory``: ``factory(config=None, **overrides)`` starts a dedicated server
  for this test (stopped after it), for settings the shared one cannot change (API keys, ...).
* Optional: define a ``qianfan_server_config`` fixture returning a
  :class:`~qianfan_chat.server.ServerConfig` to configure the shared server.

Example::

    def test_weather(qianfan_server):
        qianfan_server.add_rule(contains="weather", text="Sunny.")
        app = MyApp(base_url=qianfan_server.base_url, ak="ak", sk="sk")
        assert app.ask("weather?") == "Sunny."

    def test_weather_v2(qianfan_server):  # The v2 (OpenAI-compatible) API, same rules.
        qianfan_server.add_rule(contains="weather", text="Sunny.")
        client = openai.OpenAI(base_url=qianfan_server.v2_base_url, api_key="any-key")
        reply = client.chat.completions.create(model="ernie-3.5-8k", messages=[...])

Importing this module needs neither pytest nor the server's packages; both are imported when a
fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import LocalServer, ServerConfig

__all__ = ["qianfan_server", "qianfan_server_factory"]

# Shared servers, one per distinct config, stopped when the pytest session ends.
_shared: list[tuple[Any, LocalServer]] = []


def _shared_server(config: ServerConfig | None, add_cleanup: Callable[[Any], None]) -> LocalServer:
    from .server import LocalServer, ServerConfig

    wanted = config or ServerConfig()
    for known, server in _shared:
        if known == wanted and server.running:
            return server
    server = LocalServer(wanted).start()
    _shared.append((wanted, server))

    def stop() -> None:
        server.stop()
        if (wanted, server) in _shared:
            _shared.remove((wanted, server))

    add_cleanup(stop)
    return server


def _config_from(request: Any) -> ServerConfig | None:
    import pytest

    try:
        value = request.getfixturevalue("qianfan_server_config")
    except pytest.FixtureLookupError:
        return None
    if value is None:
        return None
    from .server import ServerConfig

    return value if isinstance(value, ServerConfig) else ServerConfig.from_mapping(value)


def _missing_pytest(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("qianfan_chat.testing needs pytest: pip install pytest")


try:
    import pytest
except ImportError:  # The module stays importable; the fixtures fail only when used.
    qianfan_server = _missing_pytest
    qianfan_server_factory = _missing_pytest
else:

    @pytest.fixture
    def qianfan_server(request: pytest.FixtureRequest) -> LocalServer:
        """The session's shared local server, reset to its start-up state for this test."""
        server = _shared_server(_config_from(request), request.config.add_cleanup)
        server.reset()
        return server

    @pytest.fixture
    def qianfan_server_factory() -> Iterator[Callable[..., LocalServer]]:
        """Start dedicated servers for one test: ``factory(config=None, **overrides)``."""
        from .server import LocalServer

        started: list[LocalServer] = []

        def factory(config: ServerConfig | None = None, **overrides: Any) -> LocalServer:
            server = LocalServer(config, **overrides).start()
            started.append(server)
            return server

        yield factory
        for server in reversed(started):
            server.stop()
