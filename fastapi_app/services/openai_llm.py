"""The upstream client on the official OpenAI SDK: async (httpx or aiohttp transport) and sync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

import aiohttp
import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from fastapi_app.config import Settings
from fastapi_app.request_id import upstream_headers
from fastapi_app.services.llm import (
    Done,
    StreamItem,
    UpstreamError,
    UpstreamTimeout,
    status_error,
)

# What the SDK lets through besides its own errors: httpx2 errors and undecodable JSON
# while a stream is read, and attribute errors on answers that lack a field.
_FAILURES = (openai.OpenAIError, httpx2.HTTPError, TimeoutError, ValueError, AttributeError)


def _limits(settings: Settings) -> httpx2.Limits:
    # The SDK's own default keeps only 100 idle connections; size both from the setting.
    return httpx2.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )


def _client_options(settings: Settings) -> dict[str, Any]:
    return {
        "api_key": settings.api_key.get_secret_value(),
        "base_url": settings.base_url,
        # A retry would hide the upstream latency that the benchmark measures.
        "max_retries": 0,
        "timeout": settings.timeout_s,
    }


def _is_timeout(exc: openai.APITimeoutError) -> bool:
    # The aiohttp transport reports a dropped connection as httpx2.ConnectTimeout:
    # look for the aiohttp error underneath before calling it a timeout.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ClientError) and not isinstance(cause, TimeoutError):
            return False
        cause = cause.__cause__
    return True


def _upstream_error(exc: Exception) -> UpstreamError:
    if isinstance(exc, openai.APIStatusError):
        return status_error(exc.status_code, exc.response.headers.get("Retry-After"))
    if isinstance(exc, openai.APITimeoutError) and _is_timeout(exc):
        return UpstreamTimeout("upstream timed out")
    if isinstance(exc, TimeoutError | httpx2.TimeoutException):
        return UpstreamTimeout("upstream timed out")
    if isinstance(exc, openai.APIConnectionError | httpx2.HTTPError):
        return UpstreamError("upstream connection failed")
    return UpstreamError("malformed upstream answer")


def _answer(completion: ChatCompletion) -> tuple[str, int]:
    text = completion.choices[0].message.content or ""
    usage = completion.usage
    if usage is None:
        raise UpstreamError("malformed upstream answer: no usage")
    return text, usage.total_tokens


def _delta(chunk: ChatCompletionChunk) -> str | None:
    if chunk.choices:
        return chunk.choices[0].delta.content or None
    return None


def _chat_args(settings: Settings, prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "model": settings.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        # The SDK's per-request headers: the request's ID goes upstream with the call.
        "extra_headers": upstream_headers(),
    }


class OpenAILLM:
    """One AsyncOpenAI client per worker process, on httpx2 or on aiohttp."""

    def __init__(self, settings: Settings, aiohttp_transport: bool) -> None:
        self._settings = settings
        http_client: httpx2.AsyncClient
        if aiohttp_transport:
            # The transport sizes its aiohttp TCPConnector(limit=...) from max_connections.
            http_client = openai.DefaultAioHttpClient(limits=_limits(settings))
        else:
            http_client = openai.DefaultAsyncHttpxClient(limits=_limits(settings), trust_env=False)
        self._client = openai.AsyncOpenAI(**_client_options(settings), http_client=http_client)

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        """Return (text, tokens_used) of one non-streaming completion."""
        args = _chat_args(self._settings, prompt, max_tokens)
        try:
            # The SDK's timeout applies per operation; this makes it cover the whole answer.
            async with asyncio.timeout(self._settings.timeout_s):
                completion = await self._client.chat.completions.create(**args)
            return _answer(completion)
        except _FAILURES as exc:
            raise _upstream_error(exc) from exc

    async def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]:
        """Yield content deltas as they arrive, then Done."""
        args = _chat_args(self._settings, prompt, max_tokens)
        tokens_used: int | None = None
        try:
            chunks = await self._client.chat.completions.create(
                **args, stream=True, stream_options={"include_usage": True}
            )
            async with chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        tokens_used = chunk.usage.total_tokens
                    delta = _delta(chunk)
                    if delta is not None:
                        yield delta
        except _FAILURES as exc:
            raise _upstream_error(exc) from exc
        if tokens_used is None:
            raise UpstreamError("upstream stream ended without usage")
        yield Done(tokens_used)

    async def aclose(self) -> None:
        """Close the client and its transport's pool."""
        await self._client.close()


class OpenAISyncLLM:
    """One OpenAI (sync) client per worker process, shared by the threadpool."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        http_client = openai.DefaultHttpxClient(limits=_limits(settings), trust_env=False)
        self._client = openai.OpenAI(**_client_options(settings), http_client=http_client)

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        """Return (text, tokens_used) of one non-streaming completion."""
        args = _chat_args(self._settings, prompt, max_tokens)
        try:
            return _answer(self._client.chat.completions.create(**args))
        except _FAILURES as exc:
            raise _upstream_error(exc) from exc

    def stream(self, prompt: str, max_tokens: int) -> Generator[StreamItem, None, None]:
        """Yield content deltas as they arrive, then Done."""
        args = _chat_args(self._settings, prompt, max_tokens)
        tokens_used: int | None = None
        try:
            chunks = self._client.chat.completions.create(
                **args, stream=True, stream_options={"include_usage": True}
            )
            with chunks:
                for chunk in chunks:
                    if chunk.usage is not None:
                        tokens_used = chunk.usage.total_tokens
                    delta = _delta(chunk)
                    if delta is not None:
                        yield delta
        except _FAILURES as exc:
            raise _upstream_error(exc) from exc
        if tokens_used is None:
            raise UpstreamError("upstream stream ended without usage")
        yield Done(tokens_used)

    def close(self) -> None:
        """Close the client and its pool."""
        self._client.close()
