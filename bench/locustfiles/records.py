"""Every request, one CSV row each, written as the test goes (`bench run --save-requests`).

Pure code (no gevent). Each Locust process appends to its own part file,
`<BENCH_REQUESTS_FILE>.<host>-<pid>.csv`, plain CSV so that a process that dies keeps
every row it wrote (rows are flushed at least once a second); the runner joins the parts
of a point into one gzip file beside results.json when the point ends
(bench.running.requests). The columns: bench.results.requests (docs/metrics.md, "The
request file").
"""

from __future__ import annotations

import csv
import io
import os
import socket
import time
from pathlib import Path
from typing import TextIO

from bench.results.requests import COLUMNS, Record

FLUSH_S = 1.0


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
