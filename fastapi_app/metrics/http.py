"""Every request timed by a pure ASGI middleware, and the GET /metrics route.

Pure ASGI, like the body-size guard, rather than BaseHTTPMiddleware, which would wrap
every response (streams included) in another task and memory stream. The middleware
sits outside every other one, so that a 413 or a 404 counts like any answer, and the
time of a stream runs to its last byte: the app's call returns only once it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_app.metrics.series import UNMATCHED, Series

METRICS_PATH = "/metrics"


def _flat_routes(routes: Iterable[Any]) -> list[Any]:
    # FastAPI 0.116+ keeps an included router as one entry whose routes it yields, each
    # with its full path, through effective_route_contexts(); a plain route is itself.
    flat: list[Any] = []
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            flat.extend(getattr(ctx, "starlette_route", None) or ctx for ctx in contexts())
        else:
            flat.append(route)
    return flat


class RouteTemplates:
    """Find the route template of a request before the router runs, cheaply.

    Every route of this service has a fixed path, so a dict answers the requests that
    matter; only a path outside it (a docs asset under its mount, a 404) pays for
    matching the remaining routes one by one, as the router does. A template, a mount's
    prefix or "none": never a raw path.
    """

    def __init__(self, routes: Iterable[Any]) -> None:
        self.fixed: dict[str, str] = {}
        self.other: list[Any] = []
        for route in _flat_routes(routes):
            path = getattr(route, "path", None)
            if path is None:
                continue
            if getattr(route, "param_convertors", None):
                self.other.append(route)
            else:
                self.fixed.setdefault(path, path)

    def of(self, scope: Scope) -> str:
        """Return the template of the route that will serve this request."""
        template = self.fixed.get(scope["path"])
        if template is not None:
            return template
        for route in self.other:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                path: str = route.path
                return path
        return UNMATCHED


class MetricsMiddleware:
    """Count and time every HTTP request except the scrapes themselves."""

    def __init__(self, app: ASGIApp, series: Series) -> None:
        self.app = app
        self.series = series
        self._templates: RouteTemplates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        templates = self._templates
        if templates is None:
            # Built on the first request, once every router is included.
            templates = self._templates = RouteTemplates(scope["app"].routes)
        request = self.series.request(templates.of(scope), scope["method"])
        # What the server answers when the app fails before starting a response.
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        request.in_progress.inc()
        start = perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            request.in_progress.dec()
            request.observe(status, perf_counter() - start)


def metrics_router() -> APIRouter:
    """Return the router of GET /metrics (left out of the OpenAPI document)."""
    router = APIRouter()

    # async def: the exposition reads the multiprocess files in a few milliseconds, less
    # than a thread hop would cost, and never takes a threadpool token from the requests.
    @router.get(METRICS_PATH, include_in_schema=False)
    async def metrics(request: Request) -> Response:
        series: Series = request.app.state.metrics
        return Response(series.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
