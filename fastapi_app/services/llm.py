"""The upstream client interface, its errors, and the factory that picks an implementation.

Every implementation speaks to the OpenAI chat completions API and exposes the same two
calls, so the routers never see which library is underneath:

- ``complete(prompt, max_tokens) -> (text, tokens_used)``
- ``stream(prompt, max_tokens)`` yields each content delta as ``str``, then exactly one
  ``Done`` carrying ``tokens_used`` (upstream ``usage.total_tokens``).

Failures surface as ``UpstreamError`` and its subclasses, which carry the HTTP status that
the service answers with.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Protocol

from fastapi_app.config import Settings


@dataclass(frozen=True, slots=True)
class Done:
    """The last item of a stream: the tokens that the whole call used."""

    tokens_used: int


StreamItem = str | Done
"""A content delta, or, last of all, Done."""


class UpstreamError(Exception):
    """The upstream failed or answered something unusable: the service answers 502."""

    status_code = 502

    def __init__(self, detail: str, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class UpstreamRateLimited(UpstreamError):
    """The upstream answered 429: the service answers 503, passing Retry-After on."""

    status_code = 503


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within LLM_TIMEOUT_S: the service answers 504."""

    status_code = 504


def status_error(status: int, retry_after: str | None) -> UpstreamError:
    """Return the error for a non-200 upstream status."""
    if status == 429:
        return UpstreamRateLimited("upstream rate limit reached", retry_after)
    return UpstreamError(f"upstream answered HTTP {status}")


class AsyncLLM(Protocol):
    """An upstream client for async endpoints; one per worker process."""

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]: ...

    def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]: ...

    async def aclose(self) -> None: ...


class SyncLLM(Protocol):
    """An upstream client for sync endpoints; one per worker process, shared by threads."""

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]: ...

    def stream(self, prompt: str, max_tokens: int) -> Generator[StreamItem, None, None]: ...

    def close(self) -> None: ...


def open_async_llm(settings: Settings) -> AsyncLLM:
    """Create the async client named by LLM_CLIENT; call from inside the running loop."""
    name = settings.upstream_client
    if name == "aiohttp":
        from fastapi_app.services.aiohttp_llm import AiohttpLLM

        return AiohttpLLM(settings)
    if name == "httpx":
        from fastapi_app.services.httpx_llm import HttpxLLM

        return HttpxLLM(settings)
    from fastapi_app.services.openai_llm import OpenAILLM

    return OpenAILLM(settings, aiohttp_transport=name == "openai-aiohttp")


def open_sync_llm(settings: Settings) -> SyncLLM:
    """Create the sync client named by LLM_CLIENT (openai or httpx)."""
    if settings.upstream_client == "httpx":
        from fastapi_app.services.httpx_llm import HttpxSyncLLM

        return HttpxSyncLLM(settings)
    from fastapi_app.services.openai_llm import OpenAISyncLLM

    return OpenAISyncLLM(settings)
