"""Upstream LLM clients, chosen by LLM_CLIENT, pooled per worker process or event loop.

Sync views share one client per process, created on first use so that it is born
after gunicorn forks. Async views share one client per event loop, created on first
use inside that loop: Django has no lifespan hook to create it at start-up.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from drf_app.completions.llm.base import Chunk, Completion, UpstreamError
from drf_app.settings import LLMSettings

__all__ = [
    "AsyncLLMClient",
    "Chunk",
    "Completion",
    "SyncLLMClient",
    "UpstreamError",
    "aclose_async_client",
    "async_client",
    "sync_client",
]


class SyncLLMClient(Protocol):
    """What the sync views need from an upstream client.

    `request_id`, when given, goes upstream as X-Request-ID.
    """

    def complete(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Completion: ...

    def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


class AsyncLLMClient(Protocol):
    """What the async views need from an upstream client (request_id: as above)."""

    async def complete(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Completion: ...

    async def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> AsyncIterator[Chunk]: ...

    async def aclose(self) -> None: ...


def _build_sync(config: LLMSettings) -> SyncLLMClient:
    # Imported here so that a process loads only the client library it uses.
    if config.client == "openai":
        from drf_app.completions.llm.openai_client import OpenAIClient

        return OpenAIClient(config)
    if config.client == "httpx":
        from drf_app.completions.llm.httpx_client import HttpxClient

        return HttpxClient(config)
    from drf_app.completions.llm.urllib3_client import Urllib3Client

    return Urllib3Client(config)


def _build_async(config: LLMSettings) -> AsyncLLMClient:
    if config.client in ("openai", "openai-aiohttp"):
        from drf_app.completions.llm.openai_client import AsyncOpenAIClient

        return AsyncOpenAIClient(config, aiohttp=config.client == "openai-aiohttp")
    from drf_app.completions.llm.aiohttp_client import AiohttpClient

    return AiohttpClient(config)


def _instrumented_sync(client: SyncLLMClient) -> SyncLLMClient:
    """With METRICS=1, the client wrapped so that every upstream call is counted and timed."""
    if not settings.METRICS:
        return client
    from drf_app.metrics.series import series
    from drf_app.metrics.upstream import InstrumentedSyncClient

    return InstrumentedSyncClient(client, series())


def _instrumented_async(client: AsyncLLMClient) -> AsyncLLMClient:
    """With METRICS=1, the client wrapped so that every upstream call is counted and timed."""
    if not settings.METRICS:
        return client
    from drf_app.metrics.series import series
    from drf_app.metrics.upstream import InstrumentedAsyncClient

    return InstrumentedAsyncClient(client, series())


class _Clients:
    """The clients of this process: one sync client, one async client per event loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sync: SyncLLMClient | None = None
        self.by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLLMClient] = (
            weakref.WeakKeyDictionary()
        )

    def forget(self) -> None:
        # After a fork the parent's pools (sockets, locks) must not be shared.
        self.lock = threading.Lock()
        self.sync = None
        self.by_loop = weakref.WeakKeyDictionary()


_clients = _Clients()
os.register_at_fork(after_in_child=_clients.forget)


def sync_client() -> SyncLLMClient:
    """Return this process's sync client, creating it on first use."""
    client = _clients.sync
    if client is None:
        with _clients.lock:
            if _clients.sync is None:
                _clients.sync = _instrumented_sync(_build_sync(settings.LLM))
            client = _clients.sync
    return client


def async_client() -> AsyncLLMClient:
    """Return the running event loop's async client, creating it on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.by_loop.get(loop)
    if client is None:
        client = _clients.by_loop[loop] = _instrumented_async(_build_async(settings.LLM))
    return client


async def aclose_async_client() -> None:
    """Close the running loop's async client, if it has one (tests, orderly shutdown)."""
    client = _clients.by_loop.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


@receiver(setting_changed)
def _reset_on_llm_change(*, setting: str, **_: Any) -> None:
    # Tests point the service at another upstream with override_settings(LLM=...).
    if setting == "LLM":
        if _clients.sync is not None:
            _clients.sync.close()
        _clients.forget()
