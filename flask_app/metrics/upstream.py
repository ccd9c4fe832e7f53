"""The upstream client, wrapped so that every LLM call is counted and timed.

A call is in progress from the request to the end of its answer (or of its stream), and
ends as `ok`, `error` (an UpstreamError: the service answers 502, 503 or 504, or sends
`event: error`) or `cancelled` (a stream closed early, its client gone).
"""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter

from prometheus_client import Gauge, Histogram

from flask_app.llm import Completion, LLMClient, StreamEvent
from flask_app.metrics.series import Series

COMPLETE, STREAM = "complete", "stream"
OK, ERROR, CANCELLED = "ok", "error", "cancelled"


class CallSeries:
    """The children of one kind of call: in progress, and a histogram per outcome."""

    def __init__(self, series: Series, kind: str) -> None:
        self.in_progress: Gauge = series.upstream_in_progress.labels(kind)
        self.outcomes: dict[str, Histogram] = {
            outcome: series.upstream_duration.labels(kind, outcome)
            for outcome in (OK, ERROR, CANCELLED)
        }

    def start(self) -> float:
        self.in_progress.inc()
        return perf_counter()

    def end(self, start: float, outcome: str) -> None:
        self.in_progress.dec()
        self.outcomes[outcome].observe(perf_counter() - start)


class InstrumentedLLM:
    """An LLMClient that counts and times each call of the client it wraps."""

    def __init__(self, llm: LLMClient, series: Series) -> None:
        self._llm = llm
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    def complete(self, prompt: str, max_tokens: int) -> Completion:
        start = self._complete.start()
        outcome = ERROR
        try:
            answer = self._llm.complete(prompt, max_tokens)
            outcome = OK
            return answer
        finally:
            self._complete.end(start, outcome)

    def stream(self, prompt: str, max_tokens: int) -> Iterator[StreamEvent]:
        # Opened here, not in the generator, so that a failure to start still raises
        # before the response begins, as the client's own stream() does.
        start = self._stream.start()
        try:
            events = self._llm.stream(prompt, max_tokens)
        except BaseException:
            self._stream.end(start, ERROR)
            raise
        return self._relay(events, start)

    def _relay(self, events: Iterator[StreamEvent], start: float) -> Iterator[StreamEvent]:
        outcome = CANCELLED
        try:
            yield from events
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            self._stream.end(start, outcome)

    def close(self) -> None:
        self._llm.close()
