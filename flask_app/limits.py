"""Limits on request bodies: 413 for an unsized body over MAX_CONTENT_LENGTH, and JSON
nested deeper than the parser can follow."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
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


class NestingLimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with JSON nested too deeply for the parser as invalid JSON.

    `json.loads` raises RecursionError, not ValueError, past about 1000 levels of nesting
    (`[[[[...]]]]` a few thousand deep is valid JSON well under the 64 KiB limit).
    `request.get_json(silent=True)`, which flask-openapi3 validates, swallows only
    ValueError, so that body would be an unhandled error (a logged traceback, a 500).
    As a ValueError it reads as "no JSON object", and the validation callback answers
    the contract's 422 at ["body"] (json_invalid), like malformed JSON.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply to parse") from exc


def register_body_limit(app: Flask) -> None:
    """Enforce the body limit on chunked requests too, and the JSON nesting limit."""
    app.before_request(_reject_long_unsized_body)
    # Flask's documented hook for JSON parsing: Request.get_json goes through app.json.
    app.json = NestingLimitedJSONProvider(app)
