"""The application factory: `create_app()` builds one FastAPI app per worker process.

Servers import the factory: `uvicorn fastapi_app.main:create_app --factory` and
`gunicorn 'fastapi_app.main:create_app()'`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from fastapi_app.config import Settings
from fastapi_app.middleware import BodySizeLimitMiddleware
from fastapi_app.request_id import (
    HEADER,
    RequestIdFilter,
    RequestIdMiddleware,
    access_logger,
    request_id,
)
from fastapi_app.routers import completions, docs, root
from fastapi_app.services.llm import (
    AsyncLLM,
    SyncLLM,
    UpstreamError,
    open_async_llm,
    open_sync_llm,
)

logger = logging.getLogger("fastapi_app")

COMPLETION_ROUTERS = {
    "async": completions.router,
    "sync": completions.sync_router,
    "blocking": completions.blocking_router,
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Own this worker's single pooled upstream client from start-up to shutdown."""
    settings: Settings = app.state.settings
    limiter = anyio.to_thread.current_default_thread_limiter()
    if settings.threadpool_size is not None:
        # The limiter belongs to the running event loop, so it is set here, not at import.
        limiter.total_tokens = settings.threadpool_size
    _log_startup(settings, int(limiter.total_tokens))
    async with AsyncExitStack() as stack:
        series = app.state.metrics
        if series is not None:
            from fastapi_app.metrics.runtime import sampling

            await stack.enter_async_context(sampling(series))
        app.state.llm = _open_llm(settings, stack, series)
        yield


def _open_llm(settings: Settings, stack: AsyncExitStack, series: Any) -> AsyncLLM | SyncLLM:
    """Open this worker's upstream client, closed when the stack unwinds; with metrics
    on (`series`), wrapped so that every upstream call is counted and timed."""
    if settings.variant == "async":
        llm = open_async_llm(settings)
        stack.push_async_callback(llm.aclose)
        if series is None:
            return llm
        from fastapi_app.metrics.upstream import InstrumentedAsyncLLM

        return InstrumentedAsyncLLM(llm, series)
    sync_llm = open_sync_llm(settings)
    stack.callback(sync_llm.close)
    if series is None:
        return sync_llm
    from fastapi_app.metrics.upstream import InstrumentedSyncLLM

    return InstrumentedSyncLLM(sync_llm, series)


def _log_startup(settings: Settings, threadpool: int) -> None:
    logger.info(
        "variant=%s client=%s upstream=%s pool=%d timeout=%ss threadpool=%d",
        settings.variant,
        settings.upstream_client,
        settings.base_url,
        settings.max_connections,
        settings.timeout_s,
        threadpool,
    )
    if settings.variant == "blocking":
        logger.warning(
            "TEACHING ONLY: the blocking variant calls a sync upstream client inside "
            "async def endpoints and blocks the event loop; never deploy it"
        )


async def upstream_error_handler(request: Request, exc: UpstreamError) -> JSONResponse:
    """Answer an upstream failure with its status: 502, 503 (with Retry-After) or 504."""
    headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


class EchoSafeJSONResponse(JSONResponse):
    """A JSONResponse that survives text which has no UTF-8 form (lone surrogates).

    Valid JSON can carry a lone surrogate as an escape (`"\\ud800"`); `json.loads` turns
    it into a Python string that `str.encode("utf-8")` refuses. Starlette's JSONResponse
    encodes strictly, so a 422 that echoes such an input back (FastAPI's errors carry
    `input`) would itself fail with UnicodeEncodeError and become a 500. Here the
    unencodable characters of the echo become "?"; every other answer is byte-identical.
    """

    def render(self, content: Any) -> bytes:
        text = json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        )
        return text.encode("utf-8", errors="replace")


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's default 422 for an invalid body, rendered by EchoSafeJSONResponse.

    A prompt with a lone surrogate fails pydantic's str check (`string_unicode`, at
    `["body", "prompt"]`) before any upstream call; only the echo of it needs this.
    """
    return EchoSafeJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


# What FastAPI's body parsing can raise, besides a JSONDecodeError (its own 422), for a
# body that is not JSON it can read: bytes that are not UTF-8 text, and nesting deeper
# than the json module's recursion limit (`[[[[...]]]]` a few thousand levels deep, well
# under the 64 KiB limit), which it raises as RecursionError.
UNPARSABLE_BODY_CAUSES = (UnicodeDecodeError, RecursionError)


async def unparsable_body_handler(request: Request, exc: HTTPException) -> Response:
    """Answer a JSON body that cannot be parsed with the contract's 422, like malformed JSON.

    FastAPI decodes the body with `json.loads(bytes)`; it turns a JSONDecodeError into its
    own 422, but any other parsing failure (UnicodeDecodeError, RecursionError) into
    `HTTPException(400, "There was an error parsing the body")` raised `from` the original
    error, and logs nothing. That cause, not the message text, identifies the case. Every
    other HTTPException (404, 405, the 413 of the body limit) goes to FastAPI's default
    handler.
    """
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UNPARSABLE_BODY_CAUSES):
        error = {
            "type": "json_invalid",
            "loc": ("body",),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": str(cause)},
        }
        return await validation_error_handler(request, RequestValidationError([error]))
    return await http_exception_handler(request, exc)


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer an unexpected error with JSON instead of Starlette's plain-text page.

    Starlette calls this from its outermost middleware, outside RequestIdMiddleware, so
    it puts the request's ID on the answer itself.
    """
    current = request_id.get()
    headers = {HEADER: current} if current else None
    return JSONResponse({"detail": "internal server error"}, status_code=500, headers=headers)


_REQUEST_ID_FILTER = RequestIdFilter()


def _configure_logging() -> None:
    # Every record of ours carries the request's ID, whichever handler writes it.
    logger.addFilter(_REQUEST_ID_FILTER)
    access_logger.addFilter(_REQUEST_ID_FILTER)
    # uvicorn and gunicorn configure only their own loggers: give ours a stderr
    # handler unless the host application (or pytest) already routes logging.
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_REQUEST_ID_FILTER)
    handler.setFormatter(
        logging.Formatter("%(levelname)s:     %(name)s: request_id=%(request_id)s %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _install_metrics(app: FastAPI) -> None:
    """METRICS=1: this worker's series, the middleware that times requests, GET /metrics."""
    # Imported only here: with METRICS off, prometheus_client is never loaded.
    from fastapi_app.metrics.http import MetricsMiddleware, metrics_router
    from fastapi_app.metrics.series import Series

    series = Series()
    app.state.metrics = series
    # Added last, so outermost: a 413 of the body guard is timed like any answer.
    app.add_middleware(MetricsMiddleware, series=series)
    app.include_router(metrics_router())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given."""
    settings = settings or Settings()
    _configure_logging()
    assets = docs.assets_dir()
    app = FastAPI(
        title="AI service bench: FastAPI",
        summary="One LLM-backed endpoint behind FastAPI, for benchmarking.",
        version="0.1.0",
        lifespan=lifespan,
        # With local assets the docs routes below replace FastAPI's CDN-based ones.
        docs_url=None if assets else "/docs",
        redoc_url=None if assets else "/redoc",
        exception_handlers={
            UpstreamError: upstream_error_handler,
            # These two replace FastAPI's default handlers and keep their answers (see
            # each docstring); Starlette's HTTPException is what FastAPI's router raises
            # for a body it cannot parse.
            RequestValidationError: validation_error_handler,
            HTTPException: unparsable_body_handler,
            Exception: internal_error_handler,
        },
    )
    app.state.settings = settings
    app.state.metrics = None
    app.add_middleware(BodySizeLimitMiddleware)
    if settings.metrics:
        _install_metrics(app)
    # Added last, so outermost of them all: the 413 above carries the ID too.
    app.add_middleware(RequestIdMiddleware, access_log=settings.request_log)
    app.include_router(root.router)
    app.include_router(COMPLETION_ROUTERS[settings.variant])
    if assets:
        app.mount(docs.STATIC_PATH, StaticFiles(directory=assets), name="docs-assets")
        app.include_router(docs.router)
    return app
