"""Every request timed by a Django middleware, and the GET /metrics view.

First of settings.MIDDLEWARE, so that its time includes the others'. Sync and async
capable, in Django's own way: under ASGI it is called as a coroutine and adds no
sync_to_async hop of its own (the sync middlewares below it pay theirs, as before).

The route template (`/complete`) labels a request, never its raw path. Django resolves
the URL only inside the handler, after this middleware has started the request, so the
middleware resolves it itself; a path that is a route's fixed text is then remembered,
so the requests that matter cost one dict lookup. A streamed response is timed to its
last byte: its content is wrapped, as Django's documentation shows for middlewares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import Resolver404, resolve
from prometheus_client import CONTENT_TYPE_LATEST, Gauge

from drf_app.metrics.series import UNMATCHED, RequestSeries, series

METRICS_PATH = "/metrics"
Handler = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


@dataclass(slots=True)
class RequestTiming:
    """One request being served: its series, and when it started."""

    series: RequestSeries
    busy: Gauge | None
    start: float = field(default_factory=perf_counter)

    def finish(self, status: int) -> None:
        self.series.in_progress.dec()
        if self.busy is not None:
            self.busy.dec()
        self.series.observe(status, perf_counter() - self.start)


class RouteTemplates:
    """The route template of a path: resolved once, remembered when it is a fixed path."""

    def __init__(self) -> None:
        self._fixed: dict[str, str] = {}

    def of(self, path: str) -> str:
        template = self._fixed.get(path)
        if template is not None:
            return template
        try:
            match = resolve(path)
        except Resolver404:
            return UNMATCHED
        template = "/" + match.route
        if template == path:
            # Only a route's own text is remembered: the cache cannot grow past the routes.
            self._fixed[path] = template
        return template


class MetricsMiddleware:
    """Count and time every request except the scrapes themselves."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.series = series()
        self.templates = RouteTemplates()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if request.path_info == METRICS_PATH:
            return self.get_response(request)
        timing = self._start(request)
        try:
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        except BaseException:
            timing.finish(500)
            raise
        return self._end(timing, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        from drf_app.metrics.runtime import ensure_loop_sampler

        # Django has no lifespan hook: the first request starts the loop's sampler.
        ensure_loop_sampler(self.series)
        if request.path_info == METRICS_PATH:
            return await self.get_response(request)  # type: ignore[no-any-return,misc]
        timing = self._start(request)
        try:
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        except BaseException:
            timing.finish(500)
            raise
        return self._end(timing, response)

    def _start(self, request: HttpRequest) -> RequestTiming:
        method = request.method or ""
        request_series = self.series.request(self.templates.of(request.path_info), method)
        request_series.in_progress.inc()
        busy = self.series.gthread_busy
        if busy is not None:
            busy.inc()
        return RequestTiming(request_series, busy)

    def _end(self, timing: RequestTiming, response: HttpResponseBase) -> HttpResponseBase:
        status = response.status_code
        if not isinstance(response, StreamingHttpResponse):
            timing.finish(status)
        elif response.is_async:
            content = cast(AsyncIterator[bytes], response.streaming_content)
            response.streaming_content = _timed_async(content, timing, status)
        else:
            sync_content = cast(Iterator[bytes], response.streaming_content)
            response.streaming_content = _timed(sync_content, timing, status)
        return response


def _timed(content: Iterator[bytes], timing: RequestTiming, status: int) -> Iterator[bytes]:
    try:
        yield from content
    finally:
        timing.finish(status)


async def _timed_async(
    content: AsyncIterator[bytes], timing: RequestTiming, status: int
) -> AsyncIterator[bytes]:
    try:
        async for part in content:
            yield part
    finally:
        timing.finish(status)
        aclose = getattr(content, "aclose", None)
        if aclose is not None:
            await aclose()


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: every series in Prometheus' text format.

    A sync view: under ASGI Django runs it in a thread, so a scrape never holds the loop.
    """
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": "Method not allowed."}, status=405, headers={"Allow": "GET"})
    return HttpResponse(series().exposition(), content_type=CONTENT_TYPE_LATEST)
