"""Fixtures of the DRF service's tests: the service pointed at an upstream, test clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.drf_app.support import NO_UPSTREAM, use_upstream


@pytest.fixture
def point() -> Iterator[Callable[..., None]]:
    """Point the service at NO_UPSTREAM; call it to point elsewhere or change LLM_* fields."""
    active: list[override_settings] = []

    def point_at(base_url: str = NO_UPSTREAM, **changes: Any) -> None:
        if active:
            active.pop().disable()
        override = use_upstream(base_url, **changes)
        override.enable()
        active.append(override)

    point_at()
    yield point_at
    for override in active:
        override.disable()


@pytest.fixture
def upstream(point: Callable[..., None], fast_mock: str) -> Callable[..., None]:
    """Point the service at the shared live mock; call it again to change LLM_* fields."""

    def at_mock(base_url: str = fast_mock, **changes: Any) -> None:
        point(base_url, **changes)

    at_mock()
    return at_mock


@pytest.fixture
def client(point: Callable[..., None]) -> Client:
    """Django's test client on the sync views (the WSGI view set); no upstream unless asked."""
    return Client()
