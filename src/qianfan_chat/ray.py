"""Chat over a Ray dataset, within one account's limits (``pip install 'qianfan-chat[ray]'``).

:class:`ChatBatch` is a callable class for ``ray.data.Dataset.map_batches``: each Ray actor
holds one :class:`~qianfan_chat.ChatCompletion` and sends its batch's conversations
concurrently; :func:`run_chat` is the one call that runs a dataset's conversations and
returns its rows with ``answer``, ``usage`` and ``error`` columns added. With
``rate_limit_redis_url=`` (or ``QIANFAN_RATE_LIMIT_REDIS_URL`` in every worker's
environment) and the account's ``request_per_minute`` / ``token_per_minute``, every actor
on every node takes from one budget in Redis, so the cluster stays within the account's
limits together. ::

    import ray
    from qianfan_chat.ray import run_chat

    ray.init(address="auto")                     # or ray.init(num_cpus=2) on one machine
    ds = ray.data.read_json("prompts.jsonl")     # a "messages" (or "prompt") column
    done = run_chat(ds, model="ERNIE-Speed-8K", concurrency=8,
                    request_per_minute=300, token_per_minute=300_000,
                    rate_limit_redis_url="redis://budget-host:6379/0")
    done.write_json("answers/")

A row's conversation is its ``messages`` column (a list of ``{"role", "content"}``) or a
``prompt`` string (one user turn). ``answer`` is the reply's text (v1 ``result``; v2 the first
choice's content), ``usage`` its token counts, ``error`` None or ``{"code", "message",
"request_id"}`` for a call that failed (after its retries): one failed row never fails the
run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import APIError, ChatCompletion

INSTALL = "qianfan_chat.ray needs Ray: pip install 'qianfan-chat[ray]'"
COLUMNS = ("answer", "usage", "error")
DEFAULT_BATCH_SIZE = 16
DEFAULT_WORKERS = 4  # concurrent calls in one actor


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(INSTALL) from None
    return ray


def _plain(value: Any) -> Any:
    """A value of a batch column as plain Python (Arrow and NumPy give arrays)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _conversation(row_messages: Any, prompt: Any) -> list[dict[str, Any]]:
    if row_messages is not None:
        messages = _plain(row_messages)
        if isinstance(messages, str):
            return [{"role": "user", "content": messages}]
        return [m for m in messages if m is not None]
    return [{"role": "user", "content": str(_plain(prompt))}]


def _answer(body: Mapping[str, Any]) -> str:
    if "choices" in body:
        choices = body.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")
    return str(body.get("result") or "")


def _usage(body: Mapping[str, Any]) -> dict[str, int]:
    usage = body.get("usage") or {}
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {name: int(usage.get(name) or 0) for name in names}


def _error(exc: BaseException) -> dict[str, str | None]:
    if isinstance(exc, APIError):
        code = None if exc.error_code is None else str(exc.error_code)
        return {"code": code, "message": exc.error_msg, "request_id": exc.request_id}
    return {"code": type(exc).__name__, "message": str(exc), "request_id": None}


class ChatBatch:
    """A callable class for ``Dataset.map_batches``: answers a batch's conversations. ::

        ds.map_batches(ChatBatch, fn_constructor_kwargs={"model": "ernie-lite-8k",
                       "request_per_minute": 300, "rate_limit_redis_url": url},
                       concurrency=4, batch_size=16)

    ``model``, ``endpoint`` and ``client_options`` make the actor's
    :class:`~qianfan_chat.ChatCompletion` (credentials, ``base_url``, limits, the Redis
    budget); ``params`` go to every call (``temperature``, ...); ``workers`` calls run at
    once in one actor. The batch comes back with :data:`COLUMNS` added.
    """

    def __init__(
        self,
        model: str | None = None,
        endpoint: str | None = None,
        *,
        workers: int = DEFAULT_WORKERS,
        params: Mapping[str, Any] | None = None,
        **client_options: Any,
    ) -> None:
        self.chat = ChatCompletion(model, endpoint, **client_options)
        self.workers = workers
        self.params = dict(params or {})

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        columns = {name: list(values) for name, values in batch.items()}
        rows = len(next(iter(columns.values()), []))
        messages = columns.get("messages", [None] * rows)
        prompts = columns.get("prompt", [None] * rows)
        conversations = [_conversation(m, p) for m, p in zip(messages, prompts, strict=True)]
        results = self.chat.batch_do(conversations, self.workers, **self.params).results()
        answers: list[Any] = []
        usages: list[Any] = []
        errors: list[Any] = []
        for result in results:
            if isinstance(result, BaseException):
                answers.append(None)
                usages.append(None)
                errors.append(_error(result))
            else:
                answers.append(_answer(result.body))
                usages.append(_usage(result.body))
                errors.append(None)
        columns.update(answer=answers, usage=usages, error=errors)
        return columns


def run_chat(
    dataset: Any,
    model: str | None = None,
    endpoint: str | None = None,
    *,
    concurrency: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = DEFAULT_WORKERS,
    params: Mapping[str, Any] | None = None,
    **client_options: Any,
) -> Any:
    """Answer every conversation of ``dataset`` (a ``ray.data.Dataset`` with a ``messages``
    or ``prompt`` column) with ``concurrency`` actors of :class:`ChatBatch`, and return the
    materialized dataset: each row as it was, plus ``answer``, ``usage`` and ``error``."""
    _ray()
    kwargs = {"workers": workers, "params": dict(params or {}), **client_options}
    return dataset.map_batches(
        ChatBatch,
        fn_constructor_args=(model, endpoint),
        fn_constructor_kwargs=kwargs,
        concurrency=concurrency,
        batch_size=batch_size,
        batch_format="numpy",
    ).materialize()
