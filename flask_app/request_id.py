"""Request IDs (docs/contract.md): one per request, on its response, its upstream call and its logs.

Flask's own hooks: `before_request` keeps the client's `X-Request-ID` when it is sane and
makes one otherwise, in `flask.g`; the views pass `g.request_id` to the upstream client;
`after_request` writes it on the response, which covers the error handlers' answers too
(404, 405, 413, 422, 5xx). `RequestIdFilter` puts it on every log record. `flask.g`
lives in a ContextVar, which is per thread under gthread and per greenlet under gevent.

With REQUEST_LOG=1 one access line per request is written when the response is closed
(`Response.call_on_close`): after its last byte, so a stream's line comes when the
stream ends (or its client leaves), and `ms` covers the whole stream.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import partial
from urllib.parse import quote

from flask import Flask, g, has_app_context, request
from flask.logging import default_handler
from werkzeug.wrappers import Response

HEADER = "X-Request-ID"
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"
# The contract's rule: 1 to 128 characters, each one of A-Z a-z 0-9 - _ . : / + =
# Anything else (too long, a space, a control or non-ASCII character) is replaced,
# never echoed.
SANE_ID = re.compile(r"[A-Za-z0-9_.:/+=-]{1,128}")

access_logger = logging.getLogger("flask_app.access")


def accept(raw: str | None) -> str:
    """Return the request's own ID when it is sane, else a new one (uuid4, 32 hex)."""
    if raw is not None and SANE_ID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


def _assign() -> None:
    # WSGI puts the header in the environ: one dict lookup, no Headers object.
    g.request_id = accept(request.environ.get(_ENVIRON_KEY))


def _assign_and_time() -> None:
    _assign()
    g.request_started = time.perf_counter()


def _current() -> str:
    # Set by the first before_request hook; made here should a hook before it have failed.
    current: str | None = g.get("request_id")
    if current is None:
        current = g.request_id = uuid.uuid4().hex
    return current


def _answer(response: Response) -> Response:
    response.headers[HEADER] = _current()
    return response


def _answer_and_log(response: Response) -> Response:
    current = _current()
    response.headers[HEADER] = current
    started = g.get("request_started", time.perf_counter())
    line = partial(log_access, current, request.method, request.path, response.status_code)
    response.call_on_close(partial(line, started))
    return response


def log_access(request_id: str, method: str, path: str, status: int, started: float) -> None:
    """Write one access line (docs/contract.md, REQUEST_LOG)."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    # The path is percent-encoded again: a decoded one could carry spaces or newlines.
    # The ID is passed on: a response closes after its request context is gone.
    access_logger.info(
        "method=%s path=%s status=%d ms=%.1f",
        method,
        quote(path, safe="/:@!$&'()*+,;=-._~"),
        status,
        elapsed_ms,
        extra={"request_id": request_id},
    )


class RequestIdFilter(logging.Filter):
    """Put the current request's ID (or "-" outside any request) on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        return True


_FILTER = RequestIdFilter()
LOG_FORMAT = "[%(asctime)s] %(levelname)s in %(module)s: request_id=%(request_id)s %(message)s"


def register_request_ids(app: Flask) -> None:
    """Install the hooks; register before any other before_request hook, so that it runs first."""
    if app.config["REQUEST_LOG"]:
        app.before_request(_assign_and_time)
        app.after_request(_answer_and_log)
        access_logger.setLevel(logging.INFO)
    else:
        app.before_request(_assign)
        app.after_request(_answer)
    # Flask's logging docs inject request data with a formatter on its default handler.
    app.logger.addFilter(_FILTER)
    default_handler.addFilter(_FILTER)
    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))
