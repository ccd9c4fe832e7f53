"""The upstream LLM client: its interface, wire format, errors and per-process holder.

The implementations, one per LLM_CLIENT value, live in flask_app.clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from flask_app.config import LLMSettings
from flask_app.request_id import HEADER


class UpstreamError(Exception):
    """An upstream failure, carrying the status and detail that the contract maps it to."""

    def __init__(self, status: int, detail: str, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def status_error(status: int, retry_after: str | None) -> UpstreamError:
    """Map an unexpected upstream HTTP status to the error the service answers with."""
    if status == 429:
        return UpstreamError(503, "upstream is rate limiting, retry later", retry_after)
    return UpstreamError(502, f"upstream answered HTTP {status}")


def timeout_error() -> UpstreamError:
    return UpstreamError(504, "upstream timed out")


def broken_error(reason: str) -> UpstreamError:
    return UpstreamError(502, f"upstream failed: {reason}")


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    tokens_used: int


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    tokens_used: int


StreamEvent = Delta | Usage


class LLMClient(Protocol):
    """An upstream client; `request_id`, when given, goes upstream as X-Request-ID."""

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        """Return one non-streamed completion, or raise UpstreamError."""
        ...

    def stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        """Start a streamed completion; raise UpstreamError before the first event if it fails.

        The returned iterator raises UpstreamError if the stream breaks later on, and
        closes the upstream response when it is closed early.
        """
        ...

    def close(self) -> None:
        """Close the pool's connections."""
        ...


def request_id_header(request_id: str | None) -> dict[str, str] | None:
    """Return the per-call header that passes the request's ID upstream."""
    return None if request_id is None else {HEADER: request_id}


def chat_body(settings: LLMSettings, prompt: str, max_tokens: int, stream: bool) -> dict[str, Any]:
    """Build the OpenAI chat.completions request body."""
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": stream,
    }
    if stream:
        # The final usage chunk is the only place a stream reports total_tokens.
        body["stream_options"] = {"include_usage": True}
    return body


def parse_completion(raw: bytes) -> Completion:
    """Read text and total_tokens from a chat.completion answer."""
    try:
        data = orjson.loads(raw)
        return Completion(
            text=data["choices"][0]["message"]["content"] or "",
            tokens_used=int(data["usage"]["total_tokens"]),
        )
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        raise broken_error("malformed completion") from None


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Cut a byte stream into lines as soon as each line is complete."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def parse_sse(chunks: Iterable[bytes], deadline: float) -> Iterator[StreamEvent]:
    """Turn upstream SSE bytes into deltas and the final usage.

    Reads on past [DONE] to the end of the body, so that the connection goes back
    to the pool instead of being closed mid-answer.
    """
    done = False
    for line in split_lines(chunks):
        if done or not line.startswith(b"data:"):
            continue
        if time.monotonic() > deadline:
            raise timeout_error()
        payload = line[5:].strip()
        if payload == b"[DONE]":
            done = True
        else:
            yield from _chunk_events(payload)
    if not done:
        raise broken_error("stream ended before [DONE]")


def _chunk_events(payload: bytes) -> Iterator[StreamEvent]:
    try:
        chunk = orjson.loads(payload)
        choices = chunk.get("choices") or []
        content = choices[0].get("delta", {}).get("content") if choices else None
        usage = chunk.get("usage")
        tokens = int(usage["total_tokens"]) if usage else None
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        raise broken_error("malformed stream chunk") from None
    if content:
        yield Delta(content)
    if tokens is not None:
        yield Usage(tokens)


def make_client(settings: LLMSettings) -> LLMClient:
    """Build the client that LLM_CLIENT names; imports stay lazy so unused SDKs cost nothing."""
    if settings.client == "openai":
        from flask_app.clients.openai_sdk import OpenAIClient

        return OpenAIClient(settings)
    if settings.client == "httpx":
        from flask_app.clients.httpx_pool import HttpxClient

        return HttpxClient(settings)
    from flask_app.clients.urllib3_pool import Urllib3Client

    return Urllib3Client(settings)


class LazyClient:
    """Hold one client per process, built on first use.

    gunicorn imports the app in each worker after fork (or in the master with
    --preload), so building the pool at import time could share sockets across
    processes; building it on the first request never does. All threads or
    greenlets of the worker then share the one pool.
    """

    def __init__(
        self, settings: LLMSettings, wrap: Callable[[LLMClient], LLMClient] | None = None
    ) -> None:
        self.settings = settings
        # METRICS=1: wraps the client so that every upstream call is counted and timed.
        self._wrap = wrap
        self._client: LLMClient | None = None
        self._lock = threading.Lock()

    def get(self) -> LLMClient:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    client = make_client(self.settings)
                    self._client = client if self._wrap is None else self._wrap(client)
                client = self._client
        return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
