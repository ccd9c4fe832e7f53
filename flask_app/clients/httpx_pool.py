"""LLM_CLIENT=httpx: a raw httpx.Client speaking the chat API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from flask_app.config import LLMSettings
from flask_app.llm import (
    Completion,
    StreamEvent,
    UpstreamError,
    broken_error,
    chat_body,
    parse_completion,
    parse_sse,
    request_id_header,
    status_error,
    timeout_error,
)


def _upstream_error(exc: httpx.HTTPError) -> UpstreamError:
    # PoolTimeout is a TimeoutException too: a full pool shows up as 504, not as a silent queue.
    if isinstance(exc, httpx.TimeoutException):
        return timeout_error()
    return broken_error(type(exc).__name__)


class HttpxClient:
    """Thread-safe; one instance serves every thread or greenlet of a worker."""

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        size = settings.max_connections
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=httpx.Timeout(settings.timeout_s),
            # httpx keeps only 20 idle connections by default; under load the rest would be
            # reopened for every request.
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        )
        self._url = settings.base_url.rstrip("/") + "/chat/completions"

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        body = chat_body(self._settings, prompt, max_tokens, stream=False)
        try:
            response = self._http.post(self._url, json=body, headers=request_id_header(request_id))
        except httpx.HTTPError as exc:
            raise _upstream_error(exc) from None
        if response.status_code != 200:
            raise status_error(response.status_code, response.headers.get("retry-after"))
        return parse_completion(response.content)

    def stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        deadline = time.monotonic() + self._settings.timeout_s
        body = chat_body(self._settings, prompt, max_tokens, stream=True)
        request = self._http.build_request(
            "POST", self._url, json=body, headers=request_id_header(request_id)
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _upstream_error(exc) from None
        if response.status_code != 200:
            response.close()
            raise status_error(response.status_code, response.headers.get("retry-after"))
        return self._events(response, deadline)

    @staticmethod
    def _events(response: httpx.Response, deadline: float) -> Iterator[StreamEvent]:
        try:
            yield from parse_sse(response.iter_bytes(), deadline)
        except httpx.HTTPError as exc:
            raise _upstream_error(exc) from None
        finally:
            response.close()

    def close(self) -> None:
        self._http.close()
