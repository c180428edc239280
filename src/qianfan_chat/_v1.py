"""The client's side of the v1 ("wenxinworkshop") chat protocol as pure functions: resolve the
model, build the path and the body, check it (the rules are :mod:`._protocol.rules_v1`'s), and
read the OAuth token reply. Replies and their errors are read by :mod:`._wire`. No I/O here.

Spec: ``shared/docs/protocol.md`` section 1 and seed document 001.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import AuthenticationError, InvalidRequestError, UnknownModelError
from ._protocol import wire
from ._protocol.content import unsafe_value
from ._protocol.models_v1 import DEFAULT_MAX_INPUT_TOKENS, ModelSpec, model_table
from ._protocol.rules_v1 import check_body
from ._wire import _text, check_header, error_from, request_id, seconds

if TYPE_CHECKING:
    from ._config import Settings
    from ._types import ModelInfo


class UnlistedParameterWarning(UserWarning):
    """A body parameter the model table does not list for the model; it is sent anyway
    (models change faster than tables). Warned once per model and parameter."""


_warned: set[tuple[str, str]] = set()


def resolve_model(name: str | None) -> ModelSpec:
    """The model table's row for ``name`` (None: the default model), or
    :class:`UnknownModelError` listing close names."""
    table = model_table()
    spec = table.lookup(name)
    if spec is None:
        raise UnknownModelError(str(name), table.close_names(str(name)))
    return spec


def chat_path(prefix: str, *, spec: ModelSpec | None, endpoint: str | None) -> str:
    """``{prefix}/chat/{suffix}`` for a model, or ``{prefix}/chat/{endpoint}`` for a service."""
    if endpoint:
        return prefix + wire.V1_CHAT_SEGMENT + endpoint.strip("/")
    assert spec is not None
    return prefix + spec.endpoint


class V1Requests:
    """How a client builds its v1 requests: the route it was made for (a model of the table,
    resolved now so an unknown name fails at construction; a deployed ``endpoint``; or an
    ``api_path`` used verbatim), and per call the URL, the checked body and the headers."""

    def __init__(
        self, settings: Settings, model: str | None, endpoint: str | None, api_path: str | None
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.api_path = api_path
        self.spec = None if (endpoint or api_path) else resolve_model(model)

    # v1 has no system messages: a ``system`` message (OpenAI's format) belongs in ``system``.
    system_messages = False

    @staticmethod
    def merges_usage(params: Mapping[str, Any], stream: bool) -> bool:
        return False  # v1 streams carry the usage on their is_end chunk

    @staticmethod
    def models() -> set[str]:
        """Every model name of the table (canonical spellings)."""
        return set(model_table().models)

    @staticmethod
    def model_info(name: str) -> ModelInfo:
        from ._types import ModelInfo

        spec = resolve_model(name)
        return ModelInfo(
            name=spec.name,
            endpoint=spec.endpoint,
            optional_keys=spec.optional,
            max_input_tokens=spec.max_input_tokens or DEFAULT_MAX_INPUT_TOKENS,
            function_calling="functions" in spec.optional,
        )

    def input_limit(self, model: str | None, endpoint: str | None) -> int:
        """The input budget in tokens of the model a call goes to (seed document 001: 3000
        when the table does not say)."""
        _, spec = self._target(model, endpoint)
        return (spec.max_input_tokens if spec else None) or DEFAULT_MAX_INPUT_TOKENS

    def _target(self, model: str | None, endpoint: str | None) -> tuple[str, ModelSpec | None]:
        prefix = self.settings.api_prefix
        if endpoint:
            return chat_path(prefix, spec=None, endpoint=endpoint), None
        if model is not None:
            spec = resolve_model(model)
            return chat_path(prefix, spec=spec, endpoint=None), spec
        if self.api_path:
            return "/" + self.api_path.lstrip("/"), None
        if self.endpoint:
            return chat_path(prefix, spec=None, endpoint=self.endpoint), None
        return chat_path(prefix, spec=self.spec, endpoint=None), self.spec

    def build(
        self,
        messages: Iterable[Mapping[str, Any]],
        params: Mapping[str, Any],
        *,
        model: str | None,
        endpoint: str | None,
        stream: bool,
        request_id: str | None,
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """``(url, body, headers)`` of one call; :class:`InvalidRequestError` if a rule is
        broken."""
        path, spec = self._target(model, endpoint)
        body = build_body(messages, params, stream=stream)
        validate(body, spec)
        headers = (
            {wire.V1_REQUEST_ID_HEADER: check_header("request_id", request_id)}
            if request_id
            else {}
        )
        return self.settings.base_url + path, body, headers


def build_body(
    messages: Iterable[Mapping[str, Any]], params: Mapping[str, Any], *, stream: bool
) -> dict[str, Any]:
    """The JSON body: ``messages`` plus every parameter that is not None."""
    msgs: Any = messages
    if not isinstance(messages, str | bytes | Mapping):
        # Plain dicts pass as they are; other mappings become dicts; anything else is left
        # for the validator to name.
        msgs = [
            dict(m) if isinstance(m, Mapping) and not isinstance(m, dict) else m for m in messages
        ]
    body: dict[str, Any] = {"messages": msgs}
    for key, value in params.items():
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
    return body


def validate(body: Mapping[str, Any], spec: ModelSpec | None) -> None:
    """Raise :class:`InvalidRequestError` for the first broken rule; warn (once) for a
    parameter the model table does not list for ``spec``."""
    violation = check_body(body)
    if violation is not None:
        raise InvalidRequestError(
            violation.field, violation.rule, error_code=violation.code, error_msg=violation.message
        )
    unsafe = unsafe_value(body)
    if unsafe is not None:  # NaN, a lone surrogate, absurd nesting: not JSON on the wire
        raise InvalidRequestError(unsafe[0].removeprefix("body."), unsafe[1])
    if spec is None:
        return
    for key in body:
        if key != "messages" and key not in spec.optional and (spec.name, key) not in _warned:
            _warned.add((spec.name, key))
            warnings.warn(
                f"{key!r} is not listed for model {spec.name!r} in the model table; sending it "
                "anyway",
                UnlistedParameterWarning,
                stacklevel=5,  # validate, build, _prepare, do: the caller's line
            )


def parse_token_reply(status: int, headers: Mapping[str, str], content: bytes) -> tuple[str, float]:
    """``(access_token, expires_in)`` from the OAuth reply, or raise AuthenticationError."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        body = None
    token = body.get("access_token") if isinstance(body, Mapping) else None
    if isinstance(token, str) and token and status < 300:
        return token, seconds(body.get("expires_in"), wire.OAUTH_LIFETIME)
    if isinstance(body, Mapping) and body.get("error"):
        error, description = _text(body.get("error")), _text(body.get("error_description"))
        msg = f"{error}: {description}".strip(": ")
        raise AuthenticationError(
            f"could not get an access token ({msg})",
            error_code=error,
            status_code=status,
            request_id=request_id(headers),
        )
    err = error_from(status, headers, body)
    if err is not None:
        raise err
    raise AuthenticationError(
        "could not get an access token (unexpected reply)",
        status_code=status,
        request_id=request_id(headers),
    )
