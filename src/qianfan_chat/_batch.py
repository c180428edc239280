"""``BatchRequestFuture``: what ``ChatCompletion.batch_do`` returns, as in Baidu's SDK.

The tasks start at once on a thread pool and ``batch_do`` returns before they finish.
``results()`` waits and gives every result in input order, an exception standing in place of
a failed item (so one failure loses nothing else); ``wait()`` only waits; ``finished_count()``
and ``task_count()`` report progress; iterating yields one ``concurrent.futures.Future`` per
task, whose ``result()`` returns that item or raises its error::

    future = chat.batch_do([msgs1, msgs2, msgs3], worker_num=4)
    print(future.finished_count(), "of", future.task_count())
    for item in future.results():
        print(item["result"] if isinstance(item, qianfan.QfResponse) else item)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchRequestFuture(Generic[T]):
    """The running batch: results in input order, progress, per-task futures."""

    def __init__(self, tasks: Sequence[Callable[[], T]], worker_num: int) -> None:
        self._lock = threading.Lock()
        self._finished = 0
        self._futures: list[Future[T]] = []
        self._executor = ThreadPoolExecutor(
            max_workers=worker_num, thread_name_prefix="qianfan-batch"
        )
        for task in tasks:
            future = self._executor.submit(task)
            future.add_done_callback(self._done)
            self._futures.append(future)
        if not self._futures:
            self._executor.shutdown(wait=False)

    def _done(self, _: Future[T]) -> None:
        with self._lock:
            self._finished += 1
            last = self._finished == len(self._futures)
        if last:  # every task is over: let the worker threads go
            self._executor.shutdown(wait=False)

    def wait(self) -> None:
        """Wait until every task has finished."""
        wait_all(self._futures)

    def results(self) -> list[T | Exception]:
        """Wait, then every result in input order; a failed task's exception in its place."""
        out: list[T | Exception] = []
        for future in self._futures:
            try:
                out.append(future.result())
            except Exception as exc:
                out.append(exc)
        return out

    def finished_count(self) -> int:
        """How many tasks have finished (succeeded or failed) so far."""
        with self._lock:
            return self._finished

    def task_count(self) -> int:
        return len(self._futures)

    def get_future_list(self) -> list[Future[T]]:
        """The SDK's name: one future per task, in input order."""
        return list(self._futures)

    def __iter__(self) -> Iterator[Future[T]]:
        return iter(list(self._futures))

    def __len__(self) -> int:
        return len(self._futures)

    def __repr__(self) -> str:
        return f"BatchRequestFuture(finished={self.finished_count()}, tasks={self.task_count()})"
