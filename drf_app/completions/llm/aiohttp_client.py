"""Async upstream client on a raw aiohttp.ClientSession (LLM_CLIENT=aiohttp, the ASGI default)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import orjson

from drf_app.completions.llm.base import (
    CHAT_PATH,
    STREAM_END,
    Chunk,
    Completion,
    UpstreamError,
    chat_body,
    parse_chunk,
    parse_completion,
    request_id_header,
    sse_data,
)
from drf_app.settings import LLMSettings


class AiohttpClient:
    """One pooled ClientSession per event loop; create it inside the loop that uses it."""

    def __init__(self, config: LLMSettings) -> None:
        self._model = config.model
        self._url = config.base_url.rstrip("/") + CHAT_PATH
        self._session = aiohttp.ClientSession(
            # aiohttp's default cap is 100 connections; the contract wants LLM_MAX_CONNECTIONS.
            connector=aiohttp.TCPConnector(limit=config.max_connections),
            headers={
                "Authorization": f"Bearer {config.api_key}",
                "Content-Type": "application/json",
            },
            # `total` spans the whole request, the streamed body included.
            timeout=aiohttp.ClientTimeout(total=config.timeout_s),
        )

    async def complete(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Completion:
        """Send one non-streaming request and return the whole answer."""
        body = orjson.dumps(chat_body(self._model, prompt, max_tokens, stream=False))
        headers = request_id_header(request_id)
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                if response.status != 200:
                    raise UpstreamError.from_status(
                        response.status, response.headers.get("Retry-After")
                    )
                raw = await response.read()
        except TimeoutError:
            raise UpstreamError.timeout() from None
        except aiohttp.ClientError as exc:
            raise UpstreamError.unreachable(exc) from None
        return parse_completion(raw)

    async def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> AsyncIterator[Chunk]:
        """Start a streaming request; raise UpstreamError now if it fails to start.

        Returns:
            the chunks, read lazily; iterating raises UpstreamError on a later failure.
        """
        body = orjson.dumps(chat_body(self._model, prompt, max_tokens, stream=True))
        try:
            response = await self._session.post(
                self._url, data=body, headers=request_id_header(request_id)
            )
        except TimeoutError:
            raise UpstreamError.timeout() from None
        except aiohttp.ClientError as exc:
            raise UpstreamError.unreachable(exc) from None
        if response.status != 200:
            response.release()
            raise UpstreamError.from_status(response.status, response.headers.get("Retry-After"))
        return self._chunks(response)

    @staticmethod
    async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[Chunk]:
        try:
            async for line in response.content:
                data = sse_data(line)
                if data is None:
                    continue
                if data == STREAM_END:
                    return
                chunk = parse_chunk(data)
                if chunk is not None:
                    yield chunk
        except TimeoutError:
            raise UpstreamError.timeout() from None
        except aiohttp.ClientError as exc:
            raise UpstreamError.unreachable(exc) from None
        finally:
            response.release()
        raise UpstreamError(502, "upstream stream ended before [DONE]")

    async def aclose(self) -> None:
        """Close the session and every pooled connection."""
        await self._session.close()
