"""Type checks for values read from JSON, TOML or keyword arguments (rules, faults, config,
rate limits): there a bool is not a number, though Python's ``bool`` is an ``int``."""

from __future__ import annotations

from typing import TypeGuard


def is_int(value: object) -> TypeGuard[int]:
    """An integer, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """An integer or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)
