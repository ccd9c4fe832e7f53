"""The upstream client on raw httpx: AsyncClient for async endpoints, Client for sync ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator

import httpx

from fastapi_app.config import Settings
from fastapi_app.request_id import upstream_headers
from fastapi_app.services import openai_wire
from fastapi_app.services.llm import (
    Done,
    StreamItem,
    UpstreamError,
    UpstreamTimeout,
    status_error,
)


def _client_options(settings: Settings) -> dict[str, object]:
    # httpx keeps only 20 idle connections by default; under load every extra
    # request would open a fresh one, so the keep-alive pool is as large as the pool.
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )
    return {
        "headers": openai_wire.request_headers(settings),
        # httpx has no total timeout: each of connect, write, read, pool wait gets it.
        "timeout": httpx.Timeout(settings.timeout_s),
        "limits": limits,
        # Proxy variables of the environment must not reroute calls to the upstream.
        "trust_env": False,
    }


def _transport_error(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout("upstream timed out")
    return UpstreamError(f"upstream connection failed: {type(exc).__name__}")


class HttpxLLM:
    """One pooled httpx.AsyncClient per worker process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = settings.completions_url
        self._client = httpx.AsyncClient(**_client_options(settings))  # type: ignore[arg-type]

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        """Return (text, tokens_used) of one non-streaming completion."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=False)
        try:
            # The outer deadline makes LLM_TIMEOUT_S cover the whole answer.
            async with asyncio.timeout(self._settings.timeout_s):
                response = await self._client.post(
                    self._url, content=body, headers=upstream_headers()
                )
        except TimeoutError as exc:
            raise UpstreamTimeout("upstream timed out") from exc
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        if response.status_code != 200:
            raise status_error(response.status_code, response.headers.get("Retry-After"))
        return openai_wire.decode_answer(response.content)

    async def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]:
        """Yield content deltas as they arrive, then Done."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=True)
        decoder = openai_wire.StreamDecoder()
        try:
            async with self._client.stream(
                "POST", self._url, content=body, headers=upstream_headers()
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise status_error(response.status_code, response.headers.get("Retry-After"))
                async for line in response.aiter_lines():
                    delta = decoder.feed(line.encode())
                    if delta is not None:
                        yield delta
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        yield Done(decoder.finish())

    async def aclose(self) -> None:
        """Close the client and every pooled connection."""
        await self._client.aclose()


class HttpxSyncLLM:
    """One pooled httpx.Client per worker process, shared by the threadpool."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = settings.completions_url
        self._client = httpx.Client(**_client_options(settings))  # type: ignore[arg-type]

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        """Return (text, tokens_used) of one non-streaming completion."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=False)
        try:
            response = self._client.post(self._url, content=body, headers=upstream_headers())
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        if response.status_code != 200:
            raise status_error(response.status_code, response.headers.get("Retry-After"))
        return openai_wire.decode_answer(response.content)

    def stream(self, prompt: str, max_tokens: int) -> Generator[StreamItem, None, None]:
        """Yield content deltas as they arrive, then Done."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=True)
        decoder = openai_wire.StreamDecoder()
        try:
            with self._client.stream(
                "POST", self._url, content=body, headers=upstream_headers()
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise status_error(response.status_code, response.headers.get("Retry-After"))
                for line in response.iter_lines():
                    delta = decoder.feed(line.encode())
                    if delta is not None:
                        yield delta
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        yield Done(decoder.finish())

    def close(self) -> None:
        """Close the client and every pooled connection."""
        self._client.close()
