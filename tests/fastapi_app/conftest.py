"""Fixtures of the FastAPI service tests: a live mock upstream and in-process apps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fastapi_app.config import Settings
from fastapi_app.main import create_app
from tests.fastapi_app.support import FAST_MOCK, NO_UPSTREAM, AppClient
from tests.support import mock_llm


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    """Return the base URL (…/v1) of a fast mock LLM shared by the in-process tests."""
    with mock_llm(*FAST_MOCK) as url:
        yield url


@pytest.fixture
def app_client() -> Iterator[AppClient]:
    """Return a factory of started TestClients, each on its own app and settings.

    The upstream is NO_UPSTREAM unless a test passes `base_url` (the mock's, say).
    """
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        # Explicit defaults keep LLM_CLIENT or FASTAPI_VARIANT in the environment out of tests.
        defaults = {"base_url": NO_UPSTREAM, "timeout_s": 2.0, "variant": "async", "client": None}
        settings = Settings(**{**defaults, **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
