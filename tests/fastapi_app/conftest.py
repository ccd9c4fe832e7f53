"""Fixtures of the FastAPI service tests: a live mock upstream and in-process apps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fastapi_app.config import Settings
from fastapi_app.main import create_app
from tests.support import mock_llm

# Short enough for fast tests, long enough that a stream is visibly incremental.
FAST_MOCK = ("--ttft-ms", "10", "--itl-ms", "5", "--output-tokens", "8")

AppClient = Callable[..., TestClient]


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """Return the base URL (…/v1) of a fast mock LLM shared by the in-process tests."""
    with mock_llm(*FAST_MOCK) as url:
        yield url


@pytest.fixture
def app_client(mock_url: str) -> Iterator[AppClient]:
    """Return a factory of started TestClients, each on its own app and settings."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        # Explicit defaults keep LLM_CLIENT or FASTAPI_VARIANT in the environment out of tests.
        defaults = {"base_url": mock_url, "timeout_s": 2.0, "variant": "async", "client": None}
        settings = Settings(**{**defaults, **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_client: AppClient) -> TestClient:
    """Return a started TestClient on the default settings (async variant, aiohttp)."""
    return app_client()
