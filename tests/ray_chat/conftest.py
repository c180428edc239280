"""A local Ray runtime for the session (``ray.init(num_cpus=2)``), loopback only, with no
dashboard; plus the local Qianfan server and a real redis-server as the shared budget."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from qianfan_chat.server import LocalServer
from redis_budget.conftest import RedisServer

# Ray turns 127.0.0.1 into the machine's reachable address unless clusters are off, and
# then every gRPC server, agent and worker binds to loopback only (read before ray imports).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[Any]:
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    with LocalServer(seed=7) as srv:
        yield srv


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.client.close()
        server.stop()
