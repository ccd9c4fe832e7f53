"""Every request, one CSV row each, written as the test goes (`bench run --save-requests`).

Pure code (no gevent). Each Locust process appends to its own part file,
`<BENCH_REQUESTS_FILE>.<host>-<pid>.csv`, plain CSV so that a process that dies keeps
every row it wrote (rows are flushed at least once a second); the runner joins the parts
of a point into one gzip file beside results.json when the point ends
(bench.running.requests). The columns (docs/metrics.md, "The request file"):

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
import io
import os
import socket
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TextIO

COLUMNS = (
    "request_id", "process", "intended_at", "sent_at", "first_byte_at", "first_token_at",
    "last_token_at", "ended_at", "status", "error", "tokens", "bytes",
)  # fmt: skip
FLUSH_S = 1.0


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
        return [_cell(value) for value in astuple(self)]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def process_tag() -> str:
    """This process among every generator process of a run: host-pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


class RequestLog:
    """Appends rows to this process's part file; flushes at least every FLUSH_S."""

    def __init__(self, base: str) -> None:
        self.path = Path(f"{base}.{process_tag()}.csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self._file: TextIO = self.path.open("a", newline="", encoding="utf-8")
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        if new:
            self._writer.writerow(COLUMNS)
        self._flushed = time.monotonic()

    def write(self, record: Record) -> None:
        self._writer.writerow(record.row())
        if time.monotonic() - self._flushed >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        self._file.write(self._buffer.getvalue())
        self._file.flush()
        self._buffer.seek(0)
        self._buffer.truncate()
        self._flushed = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._file.close()
