"""Scenario `stream`: POST /complete/stream, timed event by event (TTFT, TPOT, ITL, fidelity).

    locust -f bench/locustfiles/stream.py --host http://127.0.0.1:8000

Locust's own table shows "POST /complete/stream" with the E2E latency (request sent to
the body's last byte): one request event per stream, so that Locust's aggregate counts
streams, not streams twice. The stream figures (TTFT, TPOT, ITL, chunk fidelity) are not
requests: they go to the plugin's document only, and to `bench`'s reports and live view.
Knobs (Locust custom arguments): bench/locustfiles/scenario.py.
"""

from __future__ import annotations

import time
from typing import Any

from locust.contrib.fasthttp import ResponseContextManager

from bench.locustfiles import plugin
from bench.locustfiles.knobs import has_detail
from bench.locustfiles.scenario import ScenarioUser, active
from bench.locustfiles.sse import (
    StreamContext,
    StreamFailure,
    StreamFigures,
    StreamTiming,
    read_stream,
)
from bench.locustfiles.totals import WithoutDetail

PATH = "/complete/stream"
# identity: compressed bytes could not be read line by line as they arrive
HEADERS = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}


class StreamUser(ScenarioUser):
    scenario = "stream"

    def body(self) -> dict[str, object]:
        return active().body()

    @property
    def stop_after(self) -> int | None:
        """Deltas to read before hanging up (None: the whole stream)."""
        return None

    def send(self, context: dict[str, Any]) -> None:
        start_time = time.time()
        sent = time.perf_counter()
        # catch_response=True holds back Locust's own event, which would time the
        # headers only; one event for the whole stream is fired below instead.
        response = self.client.post(
            PATH, json=self.body(), headers=self.headers(context), stream=True,
            catch_response=True,
        )  # fmt: skip
        headers_at = time.perf_counter()
        timing = _read(response, self.stop_after)
        completed_at = time.time()
        figures = StreamFigures.of(sent, timing)
        intended = context.get(plugin.INTENDED_AT)
        if intended is not None:  # open loop: the first token counts from the intended send
            figures = figures.late_by((start_time - intended) * 1000.0)
        stream = StreamContext.of(figures, timing, sent, start_time, headers_at)
        self.environment.events.request.fire(
            request_type="POST",
            name=PATH,
            response_time=(timing.end - sent) * 1000.0,
            response_length=timing.n_bytes,
            response=response,
            context={**context, plugin.COMPLETED_AT: completed_at, plugin.STREAM: stream},
            exception=timing.error,
            start_time=start_time,
            url=f"{self.host}{PATH}",
        )
        if timing.error is None and self.stop_after is None:
            expected = active().expected_deltas(timing.tokens_used)
            self._record(figures, len(timing.token_times), expected, completed_at, start_time)

    def headers(self, context: dict[str, Any]) -> dict[str, str]:
        """The stream's headers, with the request's ID."""
        return {**HEADERS, "X-Request-ID": str(context.get(plugin.REQUEST_ID, ""))}

    def _record(
        self, figures: StreamFigures, events: int, expected: int, at: float, _start: float
    ) -> None:
        if figures.ttft_ms is not None:
            plugin.record("ttft", figures.ttft_ms, at=at)
        if figures.tpot_ms is not None:
            plugin.record("tpot", figures.tpot_ms, at=at)
        for gap in figures.itl_ms:
            plugin.record("itl", gap, at=at)
        if expected > 0:  # 0: a real model, whose chunks have no reference count
            plugin.record_fidelity(events, expected, at=at)


def _read(response: ResponseContextManager, stop_after: int | None = None) -> StreamTiming:
    """Read the streamed body; an error status or a connection error fails the stream.

    Releasing a response whose body was not read to the end closes its connection
    (geventhttpclient), which is how a client that stops after `stop_after` deltas
    hangs up.
    """
    raw = response._response
    error: Exception
    if raw is None:  # no connection: Locust's ErrorResponse carries the exception
        error = getattr(response, "error", None) or StreamFailure("no response")
        return StreamTiming(end=time.perf_counter(), error=error)
    try:
        status = response.status_code
        if status != 200:
            body = _body(response)
            error = getattr(response, "error", None) or StreamFailure(
                f"status {status}, expected 200"
            )
            if status >= 400 and not has_detail(body):
                error = WithoutDetail(f"{status} without the contract's detail")
            return StreamTiming(end=time.perf_counter(), error=error)
        # readline(b"\n"): each SSE line as it arrives. readline() waits for b"\r\n"
        # and iter_content() for 1024 bytes; both would hide the first tokens.
        return read_stream(lambda: raw.readline(b"\n"), stop_after=stop_after)
    finally:
        raw.release()


def _body(response: ResponseContextManager) -> bytes:
    """The whole (short) body of an error answer; empty when the connection failed.

    Locust's `content`, not the raw response's read(): geventhttpclient has parsed a
    short body with its headers already, and read() would find nothing left.
    """
    try:
        data = response.content
    except Exception:  # a connection that died is reported by its status, not here
        return b""
    return bytes(data or b"")
