"""Counters the harness reads from /stats, shared by every worker process.

Each worker owns one row of a shared anonymous mmap and is the only writer of it,
so increments need no lock; /stats sums the rows. The mapping is created before
the workers fork, which is what makes it shared.
"""

from __future__ import annotations

import mmap
import time

# Injected-error kinds; a status not listed here counts under "other".
ERROR_KINDS = (
    "400", "401", "403", "404", "408", "409", "413", "422", "429",
    "500", "502", "503", "504", "other", "stall", "disconnect", "malformed",
)  # fmt: skip

# Upper bounds (ms) of the buckets of cancel delays: how long after the token at which
# the client dropped its stream the call to the mock was closed.
CANCEL_BOUNDS_MS = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

_FIELDS = (
    "requests",  # chat completion requests accepted (auth and body valid)
    "completed",  # answered in full
    "streams",  # of the requests, streaming ones
    "tokens",  # content tokens sent
    "in_flight",
    "peak_in_flight",
    "bad_requests",  # 400 answers
    "unauthorized",  # 401 answers
    *(f"error_{kind}" for kind in ERROR_KINDS),
    "cancels",  # streams that a client dropped (a drop marker) and whose call then closed
    "cancel_us_sum",
    "cancel_us_max",  # per row; /stats takes the largest row
    "cancel_missed",  # streams a client dropped that were still generated to the end
    *(f"cancel_le_{bound}" for bound in (*CANCEL_BOUNDS_MS, "inf")),
)
_INDEX = {name: i for i, name in enumerate(_FIELDS)}
_ROW = len(_FIELDS)
_HEADER = 2  # [reset generation, reset time in ns]
_ITEM = 8


class SharedStats:
    """Per-worker counter rows in shared memory."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._map = mmap.mmap(-1, (_HEADER + workers * _ROW) * _ITEM)
        self._cells = memoryview(self._map).cast("q")
        self._row = _HEADER  # worker 0 until bind() says otherwise
        self._cells[1] = time.time_ns()

    def bind(self, worker: int) -> None:
        """Make this process write row `worker` (call after fork)."""
        self._row = _HEADER + worker * _ROW

    def add(self, field: str, amount: int = 1) -> None:
        """Add to one of this worker's counters."""
        self._cells[self._row + _INDEX[field]] += amount

    def begin(self, stream: bool) -> None:
        """Count a request entering service."""
        cells, row = self._cells, self._row
        cells[row] += 1
        if stream:
            cells[row + 2] += 1
        cells[row + 4] += 1
        total = self._total_in_flight()
        cells[row + 5] = max(cells[row + 5], total)

    def end(self, completed: bool) -> None:
        """Count a request leaving service."""
        cells, row = self._cells, self._row
        cells[row + 4] -= 1
        if completed:
            cells[row + 1] += 1

    def error(self, kind: str) -> None:
        """Count an injected fault."""
        field = f"error_{kind}"
        self.add(field if field in _INDEX else "error_other")

    def cancel(self, delay_s: float) -> None:
        """Count a dropped stream whose call closed `delay_s` after the client's last token."""
        micros = max(0, round(delay_s * 1e6))
        cells, row = self._cells, self._row
        cells[row + _INDEX["cancels"]] += 1
        cells[row + _INDEX["cancel_us_sum"]] += micros
        top = row + _INDEX["cancel_us_max"]
        cells[top] = max(cells[top], micros)
        for bound in CANCEL_BOUNDS_MS:
            if micros <= bound * 1000:
                cells[row + _INDEX[f"cancel_le_{bound}"]] += 1
                return
        cells[row + _INDEX["cancel_le_inf"]] += 1

    def _total_in_flight(self) -> int:
        if self._workers == 1:
            return int(self._cells[_HEADER + 4])
        return sum(int(self._cells[_HEADER + w * _ROW + 4]) for w in range(self._workers))

    def _cancel_document(self, totals: dict[str, int]) -> dict[str, object]:
        """Pop the cancel counters out of `totals` into one /stats entry."""
        count = totals.pop("cancels")
        total_us = totals.pop("cancel_us_sum")
        totals.pop("cancel_us_max")
        largest = max(
            int(self._cells[_HEADER + w * _ROW + _INDEX["cancel_us_max"]])
            for w in range(self._workers)
        )
        buckets = {
            str(bound): totals.pop(f"cancel_le_{bound}") for bound in (*CANCEL_BOUNDS_MS, "inf")
        }
        return {
            "count": count,
            "missed": totals.pop("cancel_missed"),
            "mean_ms": total_us / count / 1000 if count else None,
            "max_ms": largest / 1000 if count else None,
            "buckets_ms": buckets,
        }

    def reset(self) -> None:
        """Zero every counter except requests in flight now."""
        cells = self._cells
        for worker in range(self._workers):
            base = _HEADER + worker * _ROW
            in_flight = cells[base + 4]
            for i in range(_ROW):
                cells[base + i] = 0
            cells[base + 4] = in_flight
            cells[base + 5] = in_flight
        cells[0] += 1
        cells[1] = time.time_ns()

    def snapshot(self) -> dict[str, object]:
        """Return the summed counters as the /stats document."""
        totals = dict.fromkeys(_FIELDS, 0)
        for worker in range(self._workers):
            base = _HEADER + worker * _ROW
            for name, i in _INDEX.items():
                totals[name] += int(self._cells[base + i])
        # Per-worker peaks are taken against the total in flight, so the largest
        # of them is the peak of the whole server.
        totals["peak_in_flight"] = max(
            int(self._cells[_HEADER + w * _ROW + 5]) for w in range(self._workers)
        )
        errors = {kind: totals.pop(f"error_{kind}") for kind in ERROR_KINDS}
        cancel = self._cancel_document(totals)
        return {
            **totals,
            "cancel": cancel,
            "errors": {kind: count for kind, count in errors.items() if count},
            "errors_total": sum(errors.values()),
            "workers": self._workers,
            "since": self._cells[1] / 1e9,
            "resets": int(self._cells[0]),
        }
