"""The metrics extension: request hooks, GET /metrics, and the gunicorn worker's sampler.

A Flask extension in the usual shape (`Metrics(app)` or `init_app`), kept in
`app.extensions["metrics"]`. Its `before_request` runs first of all the app's hooks
(create_app registers it before the others), once Flask has matched the URL rule, so the
rule (`/complete`), never the raw path, labels the request. The request ends when the
WSGI server closes the response, after its last byte (`call_on_close`): a stream is
timed to its end, not to its first line. `teardown_request` ends a request that no
`after_request` reached (an error in another hook) as a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Gauge

from flask_app.llm import LLMClient
from flask_app.metrics.series import UNMATCHED, RequestSeries, Series
from flask_app.metrics.upstream import InstrumentedLLM

METRICS_PATH = "/metrics"
METRICS_ENDPOINT = "metrics"


@dataclass(slots=True)
class RequestTiming:
    """One request being served: its series, when it started, the status it answered."""

    series: RequestSeries
    busy: Gauge | None
    start: float = field(default_factory=perf_counter)
    # What the client gets when no response reached the after_request hooks.
    status: int = 500

    def finish(self) -> None:
        self.series.in_progress.dec()
        if self.busy is not None:
            self.busy.dec()
        self.series.observe(self.status, perf_counter() - self.start)


class Metrics:
    """Prometheus metrics of a Flask app (METRICS=1)."""

    def __init__(self, app: Flask | None = None) -> None:
        self.series = Series()
        # Set by start_worker in a gthread worker: its threads busy now.
        self._busy: Gauge | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions["metrics"] = self
        app.before_request(self._start)
        app.after_request(self._end_after_response)
        app.teardown_request(self._end_unanswered)
        app.add_url_rule(METRICS_PATH, METRICS_ENDPOINT, self._expose)

    def instrument(self, llm: LLMClient) -> LLMClient:
        """Wrap the upstream client so that every call is counted and timed."""
        return InstrumentedLLM(llm, self.series)

    def start_worker(self, worker_class: str, threads: int) -> None:
        """Start the runtime series of this gunicorn worker (gunicorn_conf.py's hook)."""
        from flask_app.metrics.runtime import start_worker_sampler

        if worker_class == "ThreadWorker":
            self._busy = self.series.threads_busy
        start_worker_sampler(self.series, worker_class, threads)

    def _start(self) -> None:
        rule = request.url_rule
        if rule is not None and rule.endpoint == METRICS_ENDPOINT:
            return
        series = self.series.request(rule.rule if rule is not None else UNMATCHED, request.method)
        series.in_progress.inc()
        busy = self._busy
        if busy is not None:
            busy.inc()
        g.metrics_timing = RequestTiming(series, busy)

    def _end_after_response(self, response: Response) -> Response:
        timing: RequestTiming | None = g.pop("metrics_timing", None)
        if timing is not None:
            timing.status = response.status_code
            if response.direct_passthrough:
                # A file (the docs' assets) goes out without the response's close hooks.
                timing.finish()
            else:
                response.call_on_close(timing.finish)
        return response

    def _end_unanswered(self, exc: BaseException | None) -> None:
        timing: RequestTiming | None = g.pop("metrics_timing", None)
        if timing is not None:
            timing.finish()

    def _expose(self) -> Any:
        return Response(self.series.exposition(), content_type=CONTENT_TYPE_LATEST)
