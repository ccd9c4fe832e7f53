"""Answer 413 for a body over MAX_CONTENT_LENGTH that came without a Content-Length."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream


def _reject_long_unsized_body() -> None:
    # Werkzeug checks Content-Length against MAX_CONTENT_LENGTH before reading, but reads
    # a chunked body only up to the limit and silently drops the rest, which would turn
    # an oversized body into a truncated one (422) instead of a 413.
    if request.method != "POST" or request.content_length is not None:
        return
    request.get_data()  # cached: validation reads the same bytes
    stream = request.stream
    if (
        isinstance(stream, LimitedStream)
        and stream.is_exhausted
        and request.environ["wsgi.input"].read(1)
    ):
        raise RequestEntityTooLarge()


def register_body_limit(app: Flask) -> None:
    """Enforce the body limit on chunked requests too."""
    app.before_request(_reject_long_unsized_body)
