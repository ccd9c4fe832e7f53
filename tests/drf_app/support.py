"""Helpers of the DRF service's tests (fixtures live in conftest.py); sets Django up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import django
from django.conf import settings
from django.test import AsyncClient, override_settings
from django.test.utils import setup_test_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_app.settings")
django.setup()
# Adds "testserver" (the test client's Host) to ALLOWED_HOSTS; another test folder of
# the same session may have done it already.
with contextlib.suppress(RuntimeError):
    setup_test_environment()

from drf_app.completions import llm  # noqa: E402  (needs Django set up)
from tests.services.gated import Gate  # noqa: E402
from tests.services.sse import Event  # noqa: E402

SYNC_CLIENTS = ["urllib3", "httpx", "openai"]
ASYNC_CLIENTS = ["aiohttp", "openai", "openai-aiohttp"]
ASYNC_URLCONF = "tests.drf_app.async_root_urls"
# Nothing listens on port 9 (discard): a test pointed there must never reach an upstream.
NO_UPSTREAM = "http://127.0.0.1:9/v1"

# Upstream faults (forced by the mock's prompt marker) and what the service must answer.
# fault -> status of POST /complete
COMPLETE_FAULTS = [
    ("429", 503),
    ("500", 502),
    ("503", 502),
    ("malformed", 502),
    ("disconnect", 502),
]
# fault -> status of POST /complete/stream, when the fault comes before the stream starts
STREAM_START_FAULTS = [("429", 503), ("500", 502)]
# faults after the stream started: 200, some deltas, then `event: error`
STREAM_MIDWAY_FAULTS = ["malformed", "disconnect"]
# Upstream timeout used by the stall tests, seconds.
SHORT_TIMEOUT_S = 0.5

T = TypeVar("T")


def faulty(fault: str, max_tokens: int = 8) -> dict[str, object]:
    """Return a request body whose prompt makes the mock inject `fault`."""
    return {"prompt": f"hello [mock-error:{fault}]", "max_tokens": max_tokens}


def use_upstream(base_url: str, **changes: Any) -> override_settings:
    """Return settings that point the service at `base_url` (clients are rebuilt)."""
    return override_settings(LLM=dataclasses.replace(settings.LLM, base_url=base_url, **changes))


def run_async(scenario: Callable[[AsyncClient], Awaitable[T]]) -> T:
    """Run `scenario` on the async views in a fresh loop; close that loop's upstream client."""

    async def main() -> T:
        try:
            with override_settings(ROOT_URLCONF=ASYNC_URLCONF):
                return await scenario(AsyncClient())
        finally:
            await llm.aclose_async_client()

    return asyncio.run(main())


def streaming(response: Any) -> Any:
    """The body iterator of a streamed test-client response (django-stubs types the
    test client's response without it)."""
    return response.streaming_content


def assert_relayed(gate: Gate, events: list[Event]) -> None:
    """Every delta and the usage came through, and the first delta reached the client
    while the upstream still held the rest (a buffering relay cannot do that)."""
    deltas = [event.data["delta"] for event in events if event.name == "message"]
    assert deltas == gate.deltas, events
    assert (events[-1].name, events[-1].data) == ("done", {"tokens_used": gate.tokens_used})
    assert gate.waits == [True], "the upstream held its stream until it gave up waiting"
