"""Everything one running server holds: config, reply engine, tokens and keys, limiter, faults,
log, and what each chat route serves."""

from __future__ import annotations

from dataclasses import dataclass

from .._protocol import wire
from .._protocol.models_v1 import DEFAULT_MAX_INPUT_TOKENS, model_table
from .._protocol.models_v2 import DEFAULT_CONTEXT_TOKENS, V2_MODEL_SPECS
from .auth import ApiKeyStore, TokenStore
from .batches import BatchPace, BatchStore
from .config import ServerConfig
from .connections import ConnectionRegistry
from .engine import ReplyEngine
from .faults import FaultInjector
from .files import FileStore
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
        keys = model_table().keys_for(spec.name) | {suffix.lower()}
        targets[suffix] = ChatTarget(spec.name, suffix, limit, keys)
    for name in endpoints:
        # A model's suffix keeps its model (and input limit); a new name is a custom service.
        targets.setdefault(
            name, ChatTarget(name, name, DEFAULT_MAX_INPUT_TOKENS, frozenset({name.lower()}))
        )
    return targets


@dataclass(frozen=True)
class V2Target:
    """A model id ``/v2/chat/completions`` serves: a v2 model or a custom endpoint (a deployed
    service's API name). ``keys`` are what a rule's or fault's ``model`` filter matches."""

    name: str
    max_input_tokens: int
    max_output_tokens: int | None
    reasoning: bool
    keys: frozenset[str]


def v2_targets(endpoints: tuple[str, ...] | list[str]) -> dict[str, V2Target]:
    """Every v2 model id (exact, lower case), plus the configured custom endpoint names."""
    targets = {
        spec.id: V2Target(
            spec.id,
            spec.context_tokens,
            spec.max_output_tokens,
            spec.reasoning,
            frozenset({spec.id}),
        )
        for spec in V2_MODEL_SPECS
    }
    for name in endpoints:
        targets.setdefault(
            name, V2Target(name, DEFAULT_CONTEXT_TOKENS, None, False, frozenset({name.lower()}))
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
        self.api_keys = ApiKeyStore(config.api_keys)
        self.app_ids = frozenset(config.app_ids)
        self.limiter = RateLimiter(config.rate_limits)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.log = RequestLog(config.log_size, config.log_body_chars, reveal=config.log_secrets)
        self.connections = ConnectionRegistry()
        self.targets = chat_targets(list(config.custom_endpoints))
        self.chat_prefix = config.api_prefix + wire.V1_CHAT_SEGMENT
        self.v2_targets = v2_targets(list(config.custom_endpoints))
        # The chat path after the default prefix, under the configured one.
        self.v2_chat_path = config.v2_prefix + wire.V2_CHAT_PATH[len(wire.V2_PREFIX) :]
        # Batch inference: uploaded and result files, and the jobs (kept until the server stops).
        self.v2_files_path = config.v2_prefix + wire.V2_FILES_PATH[len(wire.V2_PREFIX) :]
        self.v2_batches_path = config.v2_prefix + wire.V2_BATCHES_PATH[len(wire.V2_PREFIX) :]
        self.files = FileStore()
        self.batches = BatchStore(BatchPace(config.batch_line_seconds, config.batch_hour_seconds))

    def reset(self) -> None:
        """Back to the start-up state: the configured rules, faults (random sequence restarted
        from the seed) and limits (usage forgotten); the log emptied. Issued tokens and minted
        v2 keys stay valid, so clients holding one need not refresh between tests."""
        self.engine.set_rules(self.config.all_rules())
        self.faults.set(self.config.faults)
        self.faults.reseed()
        self.limiter.reset(self.config.rate_limits)
        self.log.clear()
        self.batches.reset_pace()
