"""The live view's figures: Locust's live document turned into one row per second.

Pure code. With BENCH_LIVE_FILE set, the Locust process rewrites that file every second
with `{"now", "users", "series": {"<unix second>": bucket}}` (bench/locustfiles/plugin.py);
a bucket holds, per request name, the successes with their latency histogram and the
failures by kind (bench/locustfiles/totals.py). `LiveSeries` reads one document after
another and keeps one `Second` per whole second that has ended: requests, errors, p50
and p99, and the users running then (and so the Little's-law ceiling of that second).

A bucket still grows while its second's requests complete, and a Locust master's
buckets lag by a report period (3 s), so the last FINAL_AFTER_S seconds are read again
from every document and only older ones are kept as they are: each tick costs the
histograms of a few seconds, however long the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.results.histogram import Histogram
from bench.results.model import Point

FINAL_AFTER_S = 5


@dataclass(frozen=True)
class Second:
    """One whole second of the point being measured, as the generator saw it."""

    at: int  # Unix second
    requests: int  # successful requests that completed in it (= req/s)
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    users: int | None  # users running then (None before the first document said)
    ceiling_rps: float | None  # users / latency (or the offered rate), None without one

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.at,
            "rps": self.requests,
            "errors": self.errors,
            "p50": _round(self.p50_ms),
            "p99": _round(self.p99_ms),
            "users": self.users,
            "ceiling": _round(self.ceiling_rps),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class Ceiling:
    """How a second's ceiling is computed: users / latency, or a fixed offered rate."""

    latency_ms: float | None = None
    offered_rps: float | None = None

    def at(self, users: int | None) -> float | None:
        if self.offered_rps is not None:
            return self.offered_rps
        if self.latency_ms and users is not None:
            return users * 1000.0 / self.latency_ms
        return None


class LiveSeries:
    """The seconds of one point (or one load ramp) so far, from successive live documents."""

    def __init__(self, request_name: str, ceiling: Ceiling | None = None) -> None:
        self.request_name = request_name
        self.ceiling = ceiling or Ceiling()
        self._final: dict[int, Second] = {}
        self._recent: dict[int, Second] = {}
        self._users: dict[int, int] = {}
        self.now: float | None = None

    def update(self, document: Mapping[str, Any]) -> None:
        """Read one live document (a newer one than the last)."""
        now = float(document.get("now") or 0.0)
        self.now = now
        self._users[int(now)] = int(document.get("users") or 0)
        series: Mapping[str, Any] = document.get("series") or {}
        ended = int(now)  # the current second is still filling
        final_before = ended - FINAL_AFTER_S
        self._recent = {}
        for key, bucket in series.items():
            second = int(key)
            if second >= ended or second in self._final:
                continue
            row = self._row(second, bucket)
            if second < final_before:
                self._final[second] = row
            else:
                self._recent[second] = row

    def _users_at(self, second: int) -> int | None:
        """The users running in that second: the last count seen at or before it."""
        seen = [s for s in self._users if s <= second]
        if seen:
            return self._users[max(seen)]
        return self._users[min(self._users)] if self._users else None

    def _row(self, second: int, bucket: Mapping[str, Any]) -> Second:
        entry = (bucket.get("requests") or {}).get(self.request_name) or {}
        latency = entry.get("latency")
        histogram = Histogram.from_dict(latency) if latency and latency.get("count") else None
        users = self._users_at(second)
        return Second(
            at=second,
            requests=int(entry.get("count", 0)),
            errors=sum(int(n) for n in (entry.get("errors") or {}).values()),
            p50_ms=histogram.percentile(50) if histogram else None,
            p99_ms=histogram.percentile(99) if histogram else None,
            users=users,
            ceiling_rps=self.ceiling.at(users),
        )

    def rows(self) -> list[Second]:
        """Every second that has ended, in order (seconds without a request included)."""
        rows = {**self._final, **self._recent}
        if not rows:
            return []
        first, last = min(rows), max(rows)
        return [rows.get(s) or self._empty(s) for s in range(first, last + 1)]

    def _empty(self, second: int) -> Second:
        users = self._users_at(second)
        return Second(second, 0, 0, None, None, users, self.ceiling.at(users))

    def latest(self) -> Second | None:
        """The last second that has ended."""
        rows = self.rows()
        return rows[-1] if rows else None


def finished_row(point: Point) -> dict[str, Any]:
    """A measured point as the live view lists it beside the point being measured."""
    own = point.model_ceiling_rps
    ceiling = point.ceiling_rps
    return {
        "target": point.target,
        "scenario": point.scenario,
        "users": point.load.users,
        "load": point.load.label(),
        "ok": point.ok,
        "rps": round(point.throughput_rps, 2),
        "ceiling": _round(ceiling),
        # The server model's own ceiling only where it binds (below users / latency).
        "own": _round(own) if own and (not ceiling or own < ceiling) else None,
        "efficiency": _round(point.efficiency),
        "p50": _round(point.value(("latency_ms", "p50"))),
        "p99": _round(point.value(("latency_ms", "p99"))),
        "errors": point.failed_requests,
        "limit": point.limit.kind if point.limit else None,
        # Its window second by second, for the timeline of the points measured so far.
        "seconds": list(point.seconds.requests) if point.seconds else [],
    }
