"""Every server model listens with a backlog of 2,048 at least (as far as the kernel allows).

A server that listens again with a smaller one drops connections past it: their clients
retry a second or three later, which a benchmark would report as the framework's latency
(gunicorn 27.0's native ASGI worker and the mock did, through asyncio's default of 100).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.live import SERVER_MODELS, Service, serve
from tests.support import mock_llm, require_tool

pytestmark = pytest.mark.process

SERVICE_BACKLOG = 2048
MOCK_BACKLOG = 8192


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def listen_backlog(port: int) -> int:
    """The accept queue's length as the kernel holds it (`ss` shows it as Send-Q)."""
    require_tool("ss")
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[2])  # State Recv-Q Send-Q ...


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """One mock for every server model: only their listening sockets are looked at."""
    with mock_llm() as base:
        yield base


@pytest.mark.parametrize(
    ("service", "server"), SERVER_MODELS, ids=[f"{s.name}-{m}" for s, m in SERVER_MODELS]
)
def test_each_server_model_listens_with_its_backlog(
    service: Service, server: str, upstream: str
) -> None:
    with serve(service, upstream, server, workers=2) as live:
        port = int(live.base.rsplit(":", 1)[1])
        assert listen_backlog(port) >= min(SERVICE_BACKLOG, somaxconn())


def test_the_mock_listens_with_its_backlog() -> None:
    with mock_llm("--workers", "2") as upstream:
        port = int(upstream.removesuffix("/v1").rsplit(":", 1)[1])
        assert listen_backlog(port) >= min(MOCK_BACKLOG, somaxconn())
