"""Server-sent events of the stream endpoint, and the response that carries them.

The relay is written twice, once per view set, because Django serves a sync
iterator chunk by chunk only under WSGI and an async one only under ASGI: given
the other kind, it consumes the whole stream first and then sends it at once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from django.http import StreamingHttpResponse

from drf_app.completions.llm import Chunk, UpstreamError

_NO_USAGE = "upstream stream ended without usage"


def _event(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def delta_event(text: str) -> bytes:
    """Return the event that forwards one upstream content chunk."""
    return _event({"delta": text})


def done_event(tokens_used: int) -> bytes:
    """Return the event that ends a complete stream."""
    return _event({"tokens_used": tokens_used}, "done")


def error_event(detail: str) -> bytes:
    """Return the event that ends a stream which failed after it started."""
    return _event({"detail": detail}, "error")


def relay(chunks: Iterator[Chunk]) -> Iterator[bytes]:
    """Turn upstream chunks into events as they arrive (sync views, WSGI)."""
    tokens_used = None
    try:
        for chunk in chunks:
            if chunk.delta:
                yield delta_event(chunk.delta)
            if chunk.tokens_used is not None:
                tokens_used = chunk.tokens_used
    except UpstreamError as exc:
        yield error_event(exc.detail)
        return
    yield error_event(_NO_USAGE) if tokens_used is None else done_event(tokens_used)


async def arelay(chunks: AsyncIterator[Chunk]) -> AsyncIterator[bytes]:
    """Turn upstream chunks into events as they arrive (async views, ASGI)."""
    tokens_used = None
    try:
        async for chunk in chunks:
            if chunk.delta:
                yield delta_event(chunk.delta)
            if chunk.tokens_used is not None:
                tokens_used = chunk.tokens_used
    except UpstreamError as exc:
        yield error_event(exc.detail)
        return
    yield error_event(_NO_USAGE) if tokens_used is None else done_event(tokens_used)


def event_stream_response(events: Iterator[bytes] | AsyncIterator[bytes]) -> StreamingHttpResponse:
    """Wrap events in a text/event-stream response that nothing on the way may buffer."""
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    # Tells nginx-style proxies not to buffer; no server or middleware here does.
    response["X-Accel-Buffering"] = "no"
    return response
