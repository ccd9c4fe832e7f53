"""Server-sent events of /complete/stream, already encoded for the wire."""

from __future__ import annotations

import json

from fastapi_app.services.llm import StreamItem

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode(item: StreamItem) -> bytes:
    """Return the event for a content delta, or the `done` event that ends the stream."""
    if isinstance(item, str):
        return b"data: " + json.dumps({"delta": item}).encode() + b"\n\n"
    return b"event: done\ndata: " + json.dumps({"tokens_used": item.tokens_used}).encode() + b"\n\n"


def error(detail: str) -> bytes:
    """Return the event that reports a failure after the stream has started."""
    return b"event: error\ndata: " + json.dumps({"detail": detail}).encode() + b"\n\n"
