"""Fixtures of the DRF service's tests: Django set up once, clients on a live mock LLM."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import django
import pytest
from django.conf import settings
from django.test import AsyncClient, Client, override_settings
from django.test.utils import setup_test_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_app.settings")
django.setup()
# Adds "testserver" (the test client's Host) to ALLOWED_HOSTS; another test folder of
# the same session (the cross-service contract test) may have done it already.
with contextlib.suppress(RuntimeError):
    setup_test_environment()

from drf_app.completions import llm  # noqa: E402  (needs Django set up)

SYNC_CLIENTS = ["urllib3", "httpx", "openai"]
ASYNC_CLIENTS = ["aiohttp", "openai", "openai-aiohttp"]
ASYNC_URLCONF = "tests.drf_app.async_root_urls"

T = TypeVar("T")


def use_upstream(base_url: str, **changes: Any) -> override_settings:
    """Return settings that point the service at `base_url` (clients are rebuilt)."""
    return override_settings(LLM=dataclasses.replace(settings.LLM, base_url=base_url, **changes))


@pytest.fixture
def upstream(fast_mock: str) -> Iterator[Callable[..., None]]:
    """Point the service at the shared mock; call it again to change LLM_* fields."""
    active: list[override_settings] = []

    def point(base_url: str = fast_mock, **changes: Any) -> None:
        if active:
            active.pop().disable()
        override = use_upstream(base_url, **changes)
        override.enable()
        active.append(override)

    point()
    yield point
    for override in active:
        override.disable()


@pytest.fixture
def client(upstream: Callable[..., None]) -> Client:
    """Django's test client on the sync views (the WSGI view set)."""
    return Client()


def run_async(scenario: Callable[[AsyncClient], Awaitable[T]]) -> T:
    """Run `scenario` on the async views in a fresh loop; close that loop's upstream client."""

    async def main() -> T:
        try:
            with override_settings(ROOT_URLCONF=ASYNC_URLCONF):
                return await scenario(AsyncClient())
        finally:
            await llm.aclose_async_client()

    return asyncio.run(main())
