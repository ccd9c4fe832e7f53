"""Encode the service's server-sent events."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from flask_app.llm import Delta, StreamEvent, UpstreamError


def _event(data: dict[str, object], name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def encode_events(events: Iterator[StreamEvent]) -> Iterator[bytes]:
    """Yield one SSE frame per upstream event; a failure midway becomes an `error` event.

    Each frame is yielded on its own so that the WSGI server writes it at once.
    """
    try:
        for event in events:
            if isinstance(event, Delta):
                yield _event({"delta": event.text})
            else:
                yield _event({"tokens_used": event.tokens_used}, "done")
    except UpstreamError as exc:
        yield _event({"detail": exc.detail}, "error")
