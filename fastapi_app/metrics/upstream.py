"""The upstream clients, wrapped so that every LLM call is counted and timed.

A call is in progress from the request to the end of its answer (or of its stream), and
ends as `ok`, `error` (an UpstreamError: the service answers 502, 503 or 504, or sends
`event: error`) or `cancelled` (a stream closed early, its client gone).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from time import perf_counter

from prometheus_client import Gauge, Histogram

from fastapi_app.metrics.series import Series
from fastapi_app.services.llm import AsyncLLM, StreamItem, SyncLLM

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


class InstrumentedAsyncLLM:
    """An AsyncLLM that counts and times each call of the client it wraps."""

    def __init__(self, llm: AsyncLLM, series: Series) -> None:
        self._llm = llm
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        start = self._complete.start()
        outcome = ERROR
        try:
            answer = await self._llm.complete(prompt, max_tokens)
            outcome = OK
            return answer
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._complete.end(start, outcome)

    async def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]:
        items = self._llm.stream(prompt, max_tokens)
        start = self._stream.start()
        outcome = CANCELLED
        try:
            async for item in items:
                yield item
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            self._stream.end(start, outcome)
            # Closing the client's generator releases its connection at once.
            await items.aclose()

    async def aclose(self) -> None:
        await self._llm.aclose()


class InstrumentedSyncLLM:
    """A SyncLLM that counts and times each call of the client it wraps."""

    def __init__(self, llm: SyncLLM, series: Series) -> None:
        self._llm = llm
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        start = self._complete.start()
        outcome = ERROR
        try:
            answer = self._llm.complete(prompt, max_tokens)
            outcome = OK
            return answer
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._complete.end(start, outcome)

    def stream(self, prompt: str, max_tokens: int) -> Generator[StreamItem, None, None]:
        items = self._llm.stream(prompt, max_tokens)
        start = self._stream.start()
        outcome = CANCELLED
        try:
            yield from items
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            self._stream.end(start, outcome)
            items.close()

    def close(self) -> None:
        self._llm.close()


def _outcome(exc: BaseException) -> str:
    # A task cancelled mid-call (its client left) did not see the upstream fail.
    return ERROR if isinstance(exc, Exception) else CANCELLED
