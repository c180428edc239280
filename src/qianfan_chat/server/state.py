"""Everything one running server holds: config, reply engine, tokens, limiter, faults, log."""

from __future__ import annotations

from dataclasses import dataclass

from .._models import DEFAULT_MAX_INPUT_TOKENS, model_table
from .auth import TokenStore
from .config import ServerConfig
from .connections import ConnectionRegistry
from .engine import ReplyEngine, model_keys_for
from .faults import FaultInjector
from .log import RequestLog
from .ratelimit import RateLimiter


@dataclass(frozen=True)
class ChatTarget:
    """What is served at ``{api_prefix}/chat/{suffix}``: a model of the table or a custom
    endpoint. ``keys`` are what a rule's or fault's ``model`` filter is matched against."""

    name: str
    suffix: str
    max_input_tokens: int
    keys: frozenset[str]


def chat_targets(endpoints: tuple[str, ...] | list[str]) -> dict[str, ChatTarget]:
    """Every suffix of the model table, plus the configured custom endpoint names."""
    targets: dict[str, ChatTarget] = {}
    for suffix, spec in model_table().by_suffix.items():
        limit = spec.max_input_tokens or DEFAULT_MAX_INPUT_TOKENS
        keys = model_keys_for(spec.name) | {suffix.lower()}
        targets[suffix] = ChatTarget(spec.name, suffix, limit, keys)
    for name in endpoints:
        # A model's suffix keeps its model (and input limit); a new name is a custom service.
        targets.setdefault(
            name, ChatTarget(name, name, DEFAULT_MAX_INPUT_TOKENS, frozenset({name.lower()}))
        )
    return targets


class ServerState:
    """The live state behind one app. The Python API and the admin routes both act on it."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        config = config or ServerConfig()
        self.config = config
        self.engine = ReplyEngine(config.all_rules())
        self.tokens = TokenStore(config.token_lifetime)
        for token in config.access_tokens:
            self.tokens.add_static(token)
        self.limiter = RateLimiter(config.rate_limits)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.log = RequestLog(config.log_size, config.log_body_chars)
        self.connections = ConnectionRegistry()
        self.targets = chat_targets(list(config.custom_endpoints))
        self.chat_prefix = f"{config.api_prefix}/chat/"

    def reset(self) -> None:
        """Back to the start-up state: the configured rules, faults (random sequence restarted
        from the seed) and limits (usage forgotten); the log emptied. Issued tokens stay
        valid, so clients holding one need not refresh between tests."""
        self.engine.set_rules(self.config.all_rules())
        self.faults.set(self.config.faults)
        self.faults.reseed()
        self.limiter.reset(self.config.rate_limits)
        self.log.clear()
