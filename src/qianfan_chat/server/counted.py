"""Rules and faults as they fire: each counts its firings and, given ``times``, stops applying
once it has fired that often. One mechanism for :class:`~.engine.ReplyEngine` and
:class:`~.faults.FaultInjector`, which both script the server in order, with counts shown by
the admin routes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from .values import is_int


class Countable(Protocol):
    """What can be counted: a rule or a fault (``times``: None is unlimited)."""

    @property
    def times(self) -> int | None: ...

    def to_dict(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Countable)


def check_times(times: object) -> None:
    """Refuse a ``times`` that is not None or a non-negative integer."""
    if times is not None and (not is_int(times) or times < 0):
        raise ValueError("times must be a non-negative integer")


class Counted(Generic[T]):
    """One item and how often it has fired."""

    __slots__ = ("fired", "item")

    def __init__(self, item: T) -> None:
        self.item = item
        self.fired = 0

    def exhausted(self) -> bool:
        """Whether the item has fired its ``times`` already."""
        times = self.item.times
        return times is not None and self.fired >= times

    def fire(self) -> None:
        self.fired += 1

    def describe(self) -> dict[str, Any]:
        """The item as JSON data, with how often it has fired."""
        return {**self.item.to_dict(), "fired": self.fired}


class CountedList(Generic[T]):
    """Items in order with their counts. Thread-safe: tests change the list from their own
    thread while the server fires entries in its own. A change swaps the whole ``entries``
    tuple under ``lock``, so a reader sees one list or the other; whoever fires entries holds
    ``lock`` while it picks, so counts never exceed ``times``."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        self.lock = threading.Lock()
        self.entries: tuple[Counted[T], ...] = tuple(Counted(i) for i in items)

    def extend(self, items: Iterable[T]) -> None:
        """Add items after the others (already validated: nothing can fail under the lock)."""
        added = tuple(Counted(i) for i in items)
        with self.lock:
            self.entries = (*self.entries, *added)

    def replace(self, items: Iterable[T]) -> None:
        """Put ``items`` in place of every item; counts start again."""
        entries = tuple(Counted(i) for i in items)
        with self.lock:
            self.entries = entries

    @property
    def items(self) -> list[T]:
        return [e.item for e in self.entries]

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e.describe() for e in self.entries]
