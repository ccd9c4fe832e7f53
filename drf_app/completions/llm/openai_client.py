"""Upstream clients on the official OpenAI SDK (LLM_CLIENT=openai, and openai-aiohttp)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from drf_app.completions.llm.base import (
    Chunk,
    Completion,
    Deadline,
    UpstreamError,
    request_id_header,
)
from drf_app.settings import LLMSettings

# A malformed answer surfaces as a JSON decode error (ValueError) or as a missing
# attribute of the SDK's unvalidated models.
_MALFORMED = (ValueError, AttributeError, IndexError, TypeError)


def _limits(config: LLMSettings) -> httpx2.Limits:
    # The SDK's default pool keeps only 100 idle connections; keep them all alive.
    return httpx2.Limits(
        max_connections=config.max_connections,
        max_keepalive_connections=config.max_connections,
    )


def _refused(exc: BaseException) -> bool:
    """Tell whether a connection error was caused by a refused or reset connection."""
    cause: BaseException | None = exc
    for _ in range(8):  # the chain is short; the bound only guards against cycles
        if cause is None:
            return False
        if isinstance(cause, ConnectionError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _translate(exc: openai.APIError) -> UpstreamError:
    # The SDK's aiohttp transport reports a refused connection as ConnectTimeout.
    if isinstance(exc, openai.APITimeoutError) and not _refused(exc):
        return UpstreamError.timeout()
    if isinstance(exc, openai.APIStatusError):
        return UpstreamError.from_status(exc.status_code, exc.response.headers.get("retry-after"))
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError.unreachable(exc.__cause__ or exc)
    return UpstreamError.malformed()


def _completion(answer: ChatCompletion) -> Completion:
    try:
        content = answer.choices[0].message.content
        tokens_used = answer.usage.total_tokens if answer.usage else None
    except _MALFORMED:
        raise UpstreamError.malformed() from None
    if not isinstance(tokens_used, int):
        raise UpstreamError.malformed()
    return Completion(content or "", tokens_used)


def _chunk(event: ChatCompletionChunk) -> Chunk | None:
    try:
        delta = event.choices[0].delta.content if event.choices else None
        tokens_used = event.usage.total_tokens if event.usage else None
    except _MALFORMED:
        raise UpstreamError.malformed() from None
    if not delta and tokens_used is None:
        return None
    return Chunk(delta or "", tokens_used)


def _request(
    config: LLMSettings, prompt: str, max_tokens: int, request_id: str | None
) -> dict[str, Any]:
    return {
        "model": config.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        # The SDK's per-request headers: the request's ID goes upstream with the call.
        "extra_headers": request_id_header(request_id),
    }


class OpenAIClient:
    """The sync SDK (`openai.OpenAI`), one per worker process, no retries."""

    def __init__(self, config: LLMSettings) -> None:
        self._config = config
        self._sdk = openai.OpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(limits=_limits(config)),
        )

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        """Send one non-streaming request and return the whole answer."""
        request = _request(self._config, prompt, max_tokens, request_id)
        try:
            answer = self._sdk.chat.completions.create(**request)
        except openai.APIError as exc:
            raise _translate(exc) from None
        except _MALFORMED:
            raise UpstreamError.malformed() from None
        return _completion(answer)

    def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[Chunk]:
        """Start a streaming request; raise UpstreamError now if it fails to start."""
        deadline = Deadline(self._config.timeout_s)
        try:
            stream = self._sdk.chat.completions.create(
                **_request(self._config, prompt, max_tokens, request_id),
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APIError as exc:
            raise _translate(exc) from None
        return self._chunks(stream, deadline)

    @staticmethod
    def _chunks(stream: openai.Stream[ChatCompletionChunk], deadline: Deadline) -> Iterator[Chunk]:
        with stream:
            try:
                for event in stream:
                    deadline.check()
                    chunk = _chunk(event)
                    if chunk is not None:
                        yield chunk
            except openai.APIError as exc:
                raise _translate(exc) from None
            except _MALFORMED:
                raise UpstreamError.malformed() from None

    def close(self) -> None:
        """Close every pooled connection."""
        self._sdk.close()


class AsyncOpenAIClient:
    """The async SDK (`openai.AsyncOpenAI`) on httpx2 or, with aiohttp=True, on aiohttp."""

    def __init__(self, config: LLMSettings, *, aiohttp: bool = False) -> None:
        self._config = config
        transport = openai.DefaultAioHttpClient if aiohttp else openai.DefaultAsyncHttpxClient
        self._sdk = openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,
            http_client=transport(limits=_limits(config)),
        )

    async def complete(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Completion:
        """Send one non-streaming request and return the whole answer."""
        try:
            answer = await self._sdk.chat.completions.create(
                **_request(self._config, prompt, max_tokens, request_id)
            )
        except openai.APIError as exc:
            raise _translate(exc) from None
        except _MALFORMED:
            raise UpstreamError.malformed() from None
        return _completion(answer)

    async def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> AsyncIterator[Chunk]:
        """Start a streaming request; raise UpstreamError now if it fails to start."""
        deadline = Deadline(self._config.timeout_s)
        try:
            stream = await self._sdk.chat.completions.create(
                **_request(self._config, prompt, max_tokens, request_id),
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APIError as exc:
            raise _translate(exc) from None
        return self._chunks(stream, deadline)

    @staticmethod
    async def _chunks(
        stream: openai.AsyncStream[ChatCompletionChunk], deadline: Deadline
    ) -> AsyncIterator[Chunk]:
        async with stream:
            try:
                async for event in stream:
                    deadline.check()
                    chunk = _chunk(event)
                    if chunk is not None:
                        yield chunk
            except openai.APIError as exc:
                raise _translate(exc) from None
            except _MALFORMED:
                raise UpstreamError.malformed() from None

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._sdk.close()
