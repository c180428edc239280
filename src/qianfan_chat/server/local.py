"""``LocalServer``: the local Qianfan server on a free loopback port, in a background thread.

Every reply it sends is TEST DATA (see :mod:`.engine`). Typical use in a test::

    with LocalServer(ak_sk={"my-ak": "my-sk"}) as server:
        server.add_rule(contains="weather", text="Sunny.")
        server.set_faults({"http_status": 503, "times": 1})
        client = MyClient(base_url=server.base_url, ak="my-ak", sk="my-sk")
        ...
        assert server.requests()[-1]["status"] == 200

The v2 (OpenAI-compatible) API is served too; an OpenAI client takes ``server.v2_base_url``::

    with LocalServer() as server:
        client = openai.OpenAI(base_url=server.v2_base_url, api_key="any-key")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import uvicorn

from .._protocol import wire
from .app import create_app
from .config import ServerConfig
from .connections import protocol_class
from .engine import ReplyEngine, Rule
from .faults import Fault
from .log import end_reveal, install_access_masking
from .ratelimit import RateLimits
from .state import ServerState

_START_TIMEOUT = 10.0


def uvicorn_config(app: Any, state: ServerState, **options: Any) -> uvicorn.Config:
    """uvicorn settings shared by :class:`LocalServer` and ``qianfan-chat serve``: the
    connection-registering protocol (for the drop faults), no lifespan, no websockets."""
    install_access_masking(state.config.log_secrets)
    settings: dict[str, Any] = {
        "http": protocol_class(state.connections, state.config.header_timeout),
        "ws": "none",
        "lifespan": "off",
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 3,
    }
    settings.update(options)
    return uvicorn.Config(app, **settings)


class LocalServer:
    """A running local Qianfan server; a context manager (``start`` on enter, ``stop`` on exit).

    ``LocalServer(config=None, **overrides)``: ``overrides`` are :class:`ServerConfig` fields
    (``ak_sk=...``, ``rpm=...``). The port is a free one on 127.0.0.1 unless the config sets
    one. The Python API acts on the live state, like the admin routes.
    """

    def __init__(self, config: ServerConfig | None = None, **overrides: Any) -> None:
        self.config = (config or ServerConfig()).with_overrides(**overrides)
        self.state = ServerState(self.config)
        self.app = create_app(state=self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._sock: socket.socket | None = None

    # Lifecycle

    def start(self) -> LocalServer:
        """Bind, start serving in a daemon thread, and wait until it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        self.config.check_bind()
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.host, self.config.port))
            sock.listen(2048)
            sock.setblocking(False)
            server = uvicorn.Server(uvicorn_config(self.app, self.state, log_config=None))
            thread = threading.Thread(
                target=server.run,
                kwargs={"sockets": [sock]},
                name=f"qianfan-local-server-{sock.getsockname()[1]}",
                daemon=True,
            )
            thread.start()
        except BaseException:
            sock.close()
            raise
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(_START_TIMEOUT)
                sock.close()
                raise RuntimeError("the local Qianfan server failed to start")
            time.sleep(0.002)
        self._port = sock.getsockname()[1]
        self._server, self._thread = server, thread
        self._sock = sock
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the socket, and join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        if self.config.log_secrets:
            end_reveal()
        thread.join(_START_TIMEOUT)
        if thread.is_alive():  # A stuck stream: stop waiting for it.
            server.force_exit = True
            thread.join(_START_TIMEOUT)
        if self._sock is not None:
            self._sock.close()  # uvicorn closes it too; closing twice is harmless.
        self._server = self._thread = self._sock = None
        self._port = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not running; call start() or use `with`")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: use it as the client's base URL."""
        host = self.config.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server, e.g. ``server.url("/oauth/2.0/token")``."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def chat_url(self, suffix: str) -> str:
        """The v1 chat URL for an endpoint suffix, e.g. ``chat_url("eb-instant")``."""
        return self.url(self.state.chat_prefix + suffix)

    @property
    def v2_base_url(self) -> str:
        """``http://127.0.0.1:<port>/v2``: the base URL an OpenAI-compatible client takes."""
        return self.base_url + self.config.v2_prefix

    @property
    def v2_chat_url(self) -> str:
        """``{v2_base_url}/chat/completions``."""
        return self.base_url + self.state.v2_chat_path

    # Scripting

    @property
    def engine(self) -> ReplyEngine:
        return self.state.engine

    def add_rule(self, rule: Rule | Mapping[str, Any] | None = None, /, **fields: Any) -> Rule:
        """Add a scripted reply (TEST DATA); see :class:`Rule`."""
        return self.state.engine.add_rule(rule, **fields)

    def add_rules(self, rules: Iterable[Rule | Mapping[str, Any]]) -> list[Rule]:
        return self.state.engine.add_rules(rules)

    def clear_rules(self) -> None:
        self.state.engine.clear()

    def set_faults(
        self, *faults: Fault | Mapping[str, Any] | Sequence[Fault | Mapping[str, Any]]
    ) -> list[Fault]:
        """Replace the active faults, given one by one or as a list (none clears them)::

        server.set_faults({"http_status": 503, "times": 1}, {"latency": 0.2})
        server.set_faults([{"drop": True, "times": 1}])
        """
        flat: list[Fault | Mapping[str, Any]] = []
        for item in faults:
            if isinstance(item, list | tuple):
                flat.extend(item)
            else:
                flat.append(item)  # type: ignore[arg-type]
        return self.state.faults.set(flat)

    def add_fault(self, fault: Fault | Mapping[str, Any] | None = None, /, **fields: Any) -> Fault:
        return self.state.faults.add(fault, **fields)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def set_rate_limits(
        self, *, qps: int | None = None, rpm: int | None = None, tpm: int | None = None
    ) -> None:
        """Replace the rate limits (an omitted one is unlimited); usage so far is kept."""
        self.state.limiter.set(RateLimits(qps, rpm, tpm))

    def issue_token(self, key: str = "local-test-ak") -> str:
        """An access token for ``key`` without the OAuth round trip."""
        return str(self.state.tokens.issue(key)[wire.ACCESS_TOKEN_PARAM])

    def expire_token(self, token: str) -> bool:
        """Expire an issued token now (the next call with it gets error 111)."""
        return self.state.tokens.expire(token)

    def issue_api_key(
        self, access_key: str = "local-test-ak", expires_in: int = wire.BEARER_DEFAULT_LIFETIME
    ) -> str:
        """A short-term v2 key (``bce-v3/ALTAK-...``) valid ``expires_in`` seconds, as the
        BCE-BEARER route mints it, without the signed round trip."""
        return self.state.api_keys.mint(access_key, expires_in)["token"]

    def expire_api_key(self, key: str) -> bool:
        """Expire a minted v2 key now (the next call with it gets 401 ``invalid_iam_token``);
        False if ``key`` was not minted here."""
        return self.state.api_keys.expire(key)

    # Inspection

    def requests(self, *, masked: bool = False) -> list[dict[str, Any]]:
        """The request log, oldest first (see :meth:`LogEntry.to_dict` for the fields).

        This in-process view shows what the test's own client sent, tokens and keys included,
        so a test can assert them; ``masked=True`` gives what ``GET /_admin/requests`` and the
        access log show (secrets as ``***`` unless the server has ``log_secrets=True``)."""
        return self.state.log.snapshot(None if masked else True)

    def clear_requests(self) -> None:
        self.state.log.clear()

    def reset(self) -> None:
        """Back to the start-up state: rules, faults (and seed), limits, log."""
        self.state.reset()

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "stopped"
        return f"<LocalServer {where}>"
