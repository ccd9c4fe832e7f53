"""A run's request files (`bench run --save-requests`), read back and joined by request ID.

Pure code over files: each point's rows (`requests/<point>.csv.gz`, or the plain CSV
parts a run that died left), the mock's log of its calls (`requests/mock.csv`), and the
services' access lines (`logs/<target>.log`, `request_id=... ms=...`). A slow request
can then be followed by its ID from the client through the service to the upstream.

A point's rows, the columns the generator writes (bench.locustfiles.records):

| column | what |
| --- | --- |
| request_id | the X-Request-ID the generator sent (the services return it and pass it upstream) |
| process | the Locust process that sent it: host-pid |
| intended_at | open loop: when it was meant to be sent (Unix s); empty in closed loop |
| sent_at | when it was sent |
| first_byte_at | streams: when the answer's headers arrived |
| first_token_at, last_token_at | streams: the first and last content event |
| ended_at | when the answer (or the failure) was complete |
| status | the HTTP status, 0 when there was none |
| error | the failure's kind (bench.locustfiles.totals.error_kind), empty for a success |
| tokens | streams: content events received |
| bytes | the answer's length |
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

MOCK_LOG = "mock.csv"
_ACCESS = re.compile(r"request_id=(?P<id>\S+) .*?status=(?P<status>\d+) ms=(?P<ms>[\d.]+)")


COLUMNS = (
    "request_id", "process", "intended_at", "sent_at", "first_byte_at", "first_token_at",
    "last_token_at", "ended_at", "status", "error", "tokens", "bytes",
)  # fmt: skip


@dataclass(frozen=True)
class Record:
    """One request's row (times in Unix seconds; None: not applicable)."""

    request_id: str
    process: str
    intended_at: float | None
    sent_at: float | None
    first_byte_at: float | None
    first_token_at: float | None
    last_token_at: float | None
    ended_at: float
    status: int
    error: str
    tokens: int | None
    bytes: int | None

    def row(self) -> list[str]:
        """Its CSV cells, in COLUMNS' order."""
        return [_cell(value) for value in astuple(self)]

    @property
    def response_ms(self) -> float:
        """From its intended send (open loop) or its send, to its end."""
        start = self.intended_at if self.intended_at is not None else self.sent_at
        return (self.ended_at - (start if start is not None else self.ended_at)) * 1000


@dataclass(frozen=True)
class Row(Record):
    """A request read back, with the point it belongs to."""

    point: str


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


@dataclass(frozen=True)
class Upstream:
    """The mock's record of one call (Unix seconds)."""

    received_at: float
    first_token_at: float | None
    ended_at: float | None
    status: str


@dataclass(frozen=True)
class Followed:
    """One request from the client through the service to the upstream."""

    row: Row
    service_ms: float | None  # the service's own access line
    upstream: Upstream | None


def _time(text: str) -> float | None:
    return float(text) if text else None


def _rows(point: str, lines: Iterable[str]) -> Iterator[Row]:
    for record in csv.DictReader(lines):
        yield Row(
            point=point,
            request_id=record["request_id"],
            process=record["process"],
            intended_at=_time(record["intended_at"]),
            sent_at=_time(record["sent_at"]),
            first_byte_at=_time(record["first_byte_at"]),
            first_token_at=_time(record["first_token_at"]),
            last_token_at=_time(record["last_token_at"]),
            ended_at=float(record["ended_at"]),
            status=int(record["status"] or 0),
            error=record["error"],
            tokens=int(record["tokens"]) if record["tokens"] else None,
            bytes=int(record["bytes"]) if record.get("bytes") else None,
        )


def point_files(run_dir: Path) -> dict[str, list[Path]]:
    """Each point's request files: its joined file, or its parts."""
    folder = run_dir / "requests"
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.csv.gz")):
        found.setdefault(path.name.removesuffix(".csv.gz"), []).append(path)
    for path in sorted(folder.glob("*.*.csv")):
        if path.name != MOCK_LOG:
            found.setdefault(path.name.split(".", 1)[0], []).append(path)
    return found


def read(run_dir: Path) -> list[Row]:
    """Every request row of a run, point by point."""
    rows: list[Row] = []
    for point, paths in point_files(run_dir).items():
        for path in paths:
            opened = gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open()
            with opened as lines:
                rows.extend(_rows(point, lines))
    return rows


def upstream_calls(run_dir: Path) -> dict[str, Upstream]:
    """The mock's calls by request ID (its log, when the run saved one)."""
    path = run_dir / "requests" / MOCK_LOG
    if not path.is_file():
        return {}
    calls = {}
    with path.open(newline="") as lines:
        for record in csv.DictReader(lines):
            calls[record["request_id"]] = Upstream(
                float(record["received_at"]),
                _time(record["first_token_at"]),
                _time(record["ended_at"]),
                record["status"],
            )
    return calls


def service_times(run_dir: Path) -> dict[str, float]:
    """The services' own time per request ID, from their access lines."""
    found: dict[str, float] = {}
    for log in sorted((run_dir / "logs").glob("*.log")):
        with log.open(errors="replace") as lines:
            for line in lines:
                match = _ACCESS.search(line)
                if match:
                    found[match["id"]] = float(match["ms"])
    return found


def follow(run_dir: Path, rows: list[Row]) -> list[Followed]:
    """Each row with the service's and the upstream's view of the same request."""
    calls, served = upstream_calls(run_dir), service_times(run_dir)
    return [Followed(row, served.get(row.request_id), calls.get(row.request_id)) for row in rows]


@dataclass(frozen=True)
class PointSummary:
    """One point's requests: how many, how many failed, response time p50/p99/max."""

    point: str
    requests: int
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def summarise(rows: list[Row]) -> list[PointSummary]:
    """Per point, in file order."""
    by_point: dict[str, list[Row]] = {}
    for row in rows:
        by_point.setdefault(row.point, []).append(row)
    out = []
    for point, found in by_point.items():
        times = sorted(r.response_ms for r in found)
        failed = sum(1 for r in found if r.error)
        out.append(
            PointSummary(point, len(found), failed, _rank(times, 0.5), _rank(times, 0.99),
                         times[-1])
        )  # fmt: skip
    return out


def _rank(ordered: list[float], q: float) -> float:
    """The nearest-rank q-quantile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def slowest(rows: list[Row], count: int) -> list[Row]:
    """The `count` slowest requests of the run."""
    return sorted(rows, key=lambda r: r.response_ms, reverse=True)[:count]
