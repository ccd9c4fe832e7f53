"""LLM_CLIENT=openai: the official synchronous OpenAI SDK on its httpx2 transport."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import openai
from openai import Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from flask_app.config import LLMSettings
from flask_app.llm import (
    Completion,
    Delta,
    StreamEvent,
    UpstreamError,
    Usage,
    broken_error,
    request_id_header,
    status_error,
    timeout_error,
)


def _sdk_error(exc: openai.APIError) -> UpstreamError:
    if isinstance(exc, openai.APITimeoutError):
        return timeout_error()
    if isinstance(exc, openai.APIStatusError):
        return status_error(exc.status_code, exc.response.headers.get("retry-after"))
    return broken_error(type(exc).__name__)


def _transport_error(exc: httpx2.HTTPError) -> UpstreamError:
    # The SDK wraps transport errors of an open stream in APIConnectionError; this is
    # a safety net should one slip through unwrapped.
    if isinstance(exc, httpx2.TimeoutException):
        return timeout_error()
    return broken_error(type(exc).__name__)


class OpenAIClient:
    """Thread-safe; one instance serves every thread or greenlet of a worker."""

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        size = settings.max_connections
        self._sdk = openai.OpenAI(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            # The SDK retries twice by default, which would hide upstream latency and errors.
            max_retries=0,
            # DefaultHttpxClient keeps the SDK's own settings apart from the pool size
            # (its default keeps 100 idle connections of 1000).
            http_client=openai.DefaultHttpxClient(
                limits=httpx2.Limits(max_connections=size, max_keepalive_connections=size),
            ),
        )

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        try:
            answer = self._sdk.chat.completions.create(
                model=self._settings.model,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                # The SDK's per-request headers: the request's ID goes upstream with the call.
                extra_headers=request_id_header(request_id),
            )
        except openai.APIError as exc:
            raise _sdk_error(exc) from None
        except ValueError:
            # The SDK parses a JSON content type with json.loads and lets its error through.
            raise broken_error("malformed completion") from None
        if not isinstance(answer, ChatCompletion) or answer.usage is None or not answer.choices:
            raise broken_error("malformed completion")
        return Completion(answer.choices[0].message.content or "", answer.usage.total_tokens)

    def stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        deadline = time.monotonic() + self._settings.timeout_s
        try:
            chunks = self._sdk.chat.completions.create(
                model=self._settings.model,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=request_id_header(request_id),
            )
        except openai.APIError as exc:
            raise _sdk_error(exc) from None
        return self._events(chunks, deadline)

    @staticmethod
    def _events(chunks: Stream[ChatCompletionChunk], deadline: float) -> Iterator[StreamEvent]:
        tokens_used: int | None = None
        with chunks:
            try:
                for chunk in chunks:
                    if time.monotonic() > deadline:
                        raise timeout_error()
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield Delta(chunk.choices[0].delta.content)
                    tokens_used = chunk.usage.total_tokens if chunk.usage else tokens_used
            except openai.APIError as exc:
                raise _sdk_error(exc) from None
            except httpx2.HTTPError as exc:
                raise _transport_error(exc) from None
            except ValueError:
                raise broken_error("malformed stream chunk") from None
        # The SDK ends quietly both at [DONE] and when the body is cut short.
        if tokens_used is None:
            raise broken_error("stream ended without usage")
        yield Usage(tokens_used)

    def close(self) -> None:
        self._sdk.close()
