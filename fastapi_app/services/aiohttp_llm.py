"""The upstream client on a raw aiohttp.ClientSession (the async default)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp

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


class AiohttpLLM:
    """One pooled aiohttp session per worker process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = settings.completions_url
        timeout_s = settings.timeout_s
        # A whole answer must arrive within LLM_TIMEOUT_S; a stream may run longer than
        # that in total, but connecting and every wait for its next bytes may not.
        self._answer_timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_s, sock_connect=timeout_s, sock_read=timeout_s
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.max_connections),
            headers=openai_wire.request_headers(settings),
        )

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        """Return (text, tokens_used) of one non-streaming completion."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=False)
        try:
            async with self._session.post(
                self._url, data=body, headers=upstream_headers(), timeout=self._answer_timeout
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    raise status_error(response.status, response.headers.get("Retry-After"))
        except TimeoutError as exc:
            raise UpstreamTimeout("upstream timed out") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"upstream connection failed: {type(exc).__name__}") from exc
        return openai_wire.decode_answer(raw)

    async def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]:
        """Yield content deltas as they arrive, then Done."""
        body = openai_wire.request_body(self._settings, prompt, max_tokens, stream=True)
        decoder = openai_wire.StreamDecoder()
        try:
            async with self._session.post(
                self._url, data=body, headers=upstream_headers(), timeout=self._stream_timeout
            ) as response:
                if response.status != 200:
                    await response.read()
                    raise status_error(response.status, response.headers.get("Retry-After"))
                # Read to the end of the body, past [DONE], so the connection goes back
                # to the pool instead of being closed with unread bytes.
                async for line in response.content:
                    delta = decoder.feed(line)
                    if delta is not None:
                        yield delta
        except TimeoutError as exc:
            raise UpstreamTimeout("upstream timed out") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise UpstreamError(f"upstream connection failed: {type(exc).__name__}") from exc
        yield Done(decoder.finish())

    async def aclose(self) -> None:
        """Close the session and every pooled connection."""
        await self._session.close()
