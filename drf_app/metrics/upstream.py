"""The upstream clients, wrapped so that every LLM call is counted and timed.

A call is in progress from the request to the end of its answer (or of its stream), and
ends as `ok`, `error` (an UpstreamError: the service answers 502, 503 or 504, or sends
`event: error`) or `cancelled` (a stream closed early, its client gone).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import Gauge, Histogram

from drf_app.completions.llm.base import Chunk, Completion
from drf_app.metrics.series import Series

if TYPE_CHECKING:
    from drf_app.completions.llm import AsyncLLMClient, SyncLLMClient

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


def _outcome(exc: BaseException) -> str:
    # A task cancelled mid-call (its client left) did not see the upstream fail.
    return ERROR if isinstance(exc, Exception) else CANCELLED


class InstrumentedSyncClient:
    """A SyncLLMClient that counts and times each call of the client it wraps."""

    def __init__(self, client: SyncLLMClient, series: Series) -> None:
        self._client = client
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    def complete(self, prompt: str, max_tokens: int, request_id: str | None = None) -> Completion:
        call = self._complete.start()
        outcome = ERROR
        try:
            answer = self._client.complete(prompt, max_tokens, request_id)
            outcome = OK
            return answer
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            call.end(outcome)

    def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Iterator[Chunk]:
        call = self._stream.start()
        try:
            chunks = self._client.open_stream(prompt, max_tokens, request_id)
        except BaseException as exc:
            call.end(_outcome(exc))
            raise
        relay = self._relay(chunks, call)
        # A generator that never started never runs its `finally`: a stream dropped
        # unread (its client gone before the first byte) ends when it is collected.
        weakref.finalize(relay, call.end, CANCELLED)
        return relay

    def _relay(self, chunks: Iterator[Chunk], call: Call) -> Iterator[Chunk]:
        outcome = CANCELLED
        try:
            yield from chunks
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            call.end(outcome)

    def close(self) -> None:
        self._client.close()


class InstrumentedAsyncClient:
    """An AsyncLLMClient that counts and times each call of the client it wraps."""

    def __init__(self, client: AsyncLLMClient, series: Series) -> None:
        self._client = client
        self._complete = CallSeries(series, COMPLETE)
        self._stream = CallSeries(series, STREAM)

    async def complete(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> Completion:
        call = self._complete.start()
        outcome = ERROR
        try:
            answer = await self._client.complete(prompt, max_tokens, request_id)
            outcome = OK
            return answer
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            call.end(outcome)

    async def open_stream(
        self, prompt: str, max_tokens: int, request_id: str | None = None
    ) -> AsyncIterator[Chunk]:
        call = self._stream.start()
        try:
            chunks = await self._client.open_stream(prompt, max_tokens, request_id)
        except BaseException as exc:
            call.end(_outcome(exc))
            raise
        relay = self._relay(chunks, call)
        # A generator that never started never runs its `finally`: a stream dropped
        # unread (its client gone before the first byte) ends when it is collected.
        weakref.finalize(relay, call.end, CANCELLED)
        return relay

    async def _relay(self, chunks: AsyncIterator[Chunk], call: Call) -> AsyncIterator[Chunk]:
        outcome = CANCELLED
        try:
            async for chunk in chunks:
                yield chunk
            outcome = OK
        except Exception:
            outcome = ERROR
            raise
        finally:
            call.end(outcome)
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                # Closing the client's generator releases its connection at once.
                await aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
