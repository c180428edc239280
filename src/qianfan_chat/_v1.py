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
from ._protocol.models_v1 import ModelSpec, model_table
from ._protocol.rules_v1 import check_body
from ._wire import error_from, request_id

if TYPE_CHECKING:
    from ._config import Settings


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
        headers = {wire.V1_REQUEST_ID_HEADER: request_id} if request_id else {}
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
        raise InvalidRequestError(violation.field, violation.rule, error_code=violation.code)
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
    except ValueError:
        body = None
    if isinstance(body, Mapping) and body.get("access_token") and status < 400:
        return str(body["access_token"]), float(body.get("expires_in") or wire.OAUTH_LIFETIME)
    if isinstance(body, Mapping) and body.get("error"):
        msg = f"{body.get('error')}: {body.get('error_description', '')}".strip(": ")
        raise AuthenticationError(
            f"could not get an access token ({msg})",
            error_code=str(body.get("error")),
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
