"""The upstream client, wrapped so that every LLM call is counted and timed.

A call is in progress from the request to the end of its answer (or of its stream), and
ends as `ok`, `error` (an UpstreamError: the service answers 502, 503 or 504, or sends
`event: error`) or `cancelled` (a stream closed early, its client gone).
"""

from __future__ import annotations

import weakref
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

    def start(self) -> Call:
        self.in_progress.inc()
        return Call(self)


class Call:
    """One upstream call in progress; ended once, by whichever comes first."""

    __slots__ = ("_kind", "_open", "_start")

    def __init__(self, kind: CallSeries) -> None:
        self._kind = kind
        self._start = perf_counter()
        self._open = True

    def end(self, outcome: str) -> None:
        if self._open:
            self._open = False
            self._kind.in_progress.dec()
            self._kind.outcomes[outcome].observe(perf_counter() - self._start)


class InstrumentedLLM:
    """An LLMClient that counts and times each call of the client it wraps."""

    def __init__(self, llm: LLMClient, series: Series) -> None:
        self._llm = llm
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        call = self._complete.start()
        outcome = ERROR
        try:
            answer = self._llm.complete(prompt, max_tokens, request_id)
            outcome = OK
            return answer
        finally:
            call.end(outcome)

    def stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[StreamEvent]:
        # Opened here, not in the generator, so that a failure to start still raises
        # before the response begins, as the client's own stream() does.
        call = self._stream.start()
        try:
            events = self._llm.stream(prompt, max_tokens, request_id)
        except BaseException:
            call.end(ERROR)
            raise
        relay = self._relay(events, call)
        # A generator that never started never runs its `finally`: a stream dropped
        # unread (its client gone before the first byte) ends when it is collected.
        weakref.finalize(relay, call.end, CANCELLED)
        return relay

    def _relay(self, events: Iterator[StreamEvent], call: Call) -> Iterator[StreamEvent]:
        outcome = CANCELLED
        try:
            yield from events
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            call.end(outcome)

    def close(self) -> None:
        self._llm.close()
