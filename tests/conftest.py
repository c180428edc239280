"""Fixtures for every test: each starts with no rate-limit budgets in the process (they are
process-wide, like the token cache, and a refusal in one test must not slow the next)."""

from __future__ import annotations

import pytest

from qianfan_chat._throttle import clear_budgets


@pytest.fixture(autouse=True)
def _no_budgets() -> None:
    clear_budgets()
