"""Sync upstream client on a raw httpx.Client (LLM_CLIENT=httpx)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from drf_app.completions.llm.base import (
    CHAT_PATH,
    STREAM_END,
    Chunk,
    Completion,
    Deadline,
    UpstreamError,
    chat_body,
    parse_chunk,
    parse_completion,
    request_id_header,
    sse_data,
)
from drf_app.settings import LLMSettings


class HttpxClient:
    """One pooled httpx.Client per worker process, shared by its threads or greenlets."""

    def __init__(self, config: LLMSettings) -> None:
        self._model = config.model
        self._timeout_s = config.timeout_s
        # Keep every connection alive: the pool is the per-process concurrency limit.
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
        )
        self._http = httpx.Client(
            base_url=config.base_url,
            headers={"Authorization": f"Bearer {config.api_key}"},
            # httpx times each phase (connect, each read); Deadline bounds a whole stream.
            timeout=httpx.Timeout(config.timeout_s),
            limits=limits,
        )

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        """Send one non-streaming request and return the whole answer."""
        body = chat_body(self._model, prompt, max_tokens, stream=False)
        try:
            response = self._http.post(CHAT_PATH, json=body, headers=request_id_header(request_id))
        except httpx.TimeoutException:
            raise UpstreamError.timeout() from None
        except httpx.HTTPError as exc:
            raise UpstreamError.unreachable(exc) from None
        if response.status_code != 200:
            raise UpstreamError.from_status(
                response.status_code, response.headers.get("retry-after")
            )
        return parse_completion(response.content)

    def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[Chunk]:
        """Start a streaming request; raise UpstreamError now if it fails to start.

        Returns:
            the chunks, read lazily; iterating raises UpstreamError on a later failure.
        """
        deadline = Deadline(self._timeout_s)
        body = chat_body(self._model, prompt, max_tokens, stream=True)
        request = self._http.build_request(
            "POST", CHAT_PATH, json=body, headers=request_id_header(request_id)
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamError.timeout() from None
        except httpx.HTTPError as exc:
            raise UpstreamError.unreachable(exc) from None
        if response.status_code != 200:
            response.close()
            raise UpstreamError.from_status(
                response.status_code, response.headers.get("retry-after")
            )
        return self._chunks(response, deadline)

    @staticmethod
    def _chunks(response: httpx.Response, deadline: Deadline) -> Iterator[Chunk]:
        try:
            for line in response.iter_lines():
                deadline.check()
                data = sse_data(line.encode())
                if data is None:
                    continue
                if data == STREAM_END:
                    return
                chunk = parse_chunk(data)
                if chunk is not None:
                    yield chunk
        except httpx.TimeoutException:
            raise UpstreamError.timeout() from None
        except httpx.HTTPError as exc:
            raise UpstreamError.unreachable(exc) from None
        finally:
            response.close()
        raise UpstreamError(502, "upstream stream ended before [DONE]")

    def close(self) -> None:
        """Close every pooled connection."""
        self._http.close()
