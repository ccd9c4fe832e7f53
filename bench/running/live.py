"""`--live`: a page on loopback that shows a run as it happens, fed by server-sent events.

The view lives in the bench process and stays light: one thread serves HTTP
(the stdlib's ThreadingHTTPServer, one more thread per open page) and one thread ticks
once a second. A tick reads the live file that Locust rewrites every second
(BENCH_LIVE_FILE, set by the runner only when an observer watches), turns it into one
row per second (bench.results.live), and publishes one snapshot, a small JSON document
with everything a page draws: the section (a demo's question), the point being
measured with its seconds and its ceilings, and the points already measured. Every
open `/events` stream receives each snapshot as `data: {...}` (the protocol the
services speak) and, when the run ends, `event: done` before the stream closes.

Each snapshot is whole, so a page opened mid-run (or reconnecting) draws everything at
once; `/` embeds the latest one so that the page is drawn before its first event.

    GET /         the page: the suite's page shell (bench.reports.page) with the sections
                  below and the script of live_page.html (inline, no URL outside)
    GET /events   text/event-stream of snapshots, `event: done` at the end
    GET /state    the latest snapshot as JSON
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.reports import page as shell
from bench.results.analysis import REQUEST_NAMES
from bench.results.live import Ceiling, LiveSeries, finished_row
from bench.results.model import Point, Telemetry
from bench.running.observe import Watched

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
TICK_S = 1.0
KEEPALIVE_S = 15.0  # a comment line on an idle stream, so that proxies keep it open
CLOSE_GRACE_S = 2.0  # how long open streams get to send `done` when the run ends
SCRIPT = Path(__file__).with_name("live_page.html")  # the drawing code, and its snapshot

# The page's sections, empty until the script draws into them (by these ids).
SECTIONS = (
    shell.Section("now", "", '<div class="tiles" id="tiles"></div>'),
    shell.Section(
        "point",
        "This point, second by second",
        '<div class="charts"><div id="rate-chart"></div><div id="latency-chart"></div></div>'
        '<div class="charts"><div id="held-chart"></div><div id="lag-chart"></div></div>'
        '<p class="note">Each marker is one second as the load generator saw it. Dashed: the '
        "Little's-law ceiling (users / upstream latency: no server can do better) and the "
        "server model's own ceiling (what it holds at once / latency) where it binds. Shaded: "
        "the measured window; seconds outside it are not counted. With --telemetry, the "
        "server's own series beside them, on the same time axis: what it held (requests, "
        "upstream calls, threads) and its event loop's or gevent hub's lag.</p>",
    ),
    shell.Section(
        "measured",
        "Points measured",
        '<div class="charts"><div id="points-chart"></div><div id="timeline-chart"></div></div>'
        + shell.scroll('<table id="points"></table>'),
    ),
)
STATUS = '<p id="text"></p><p id="status">waiting for the first point</p>'

RateListener = Callable[[float | None], None]


class _Current:
    """The point being measured: what the runner announced and its seconds so far."""

    def __init__(self, watched: Watched) -> None:
        self.watched = watched
        name = REQUEST_NAMES.get(watched.scenario, f"/{watched.scenario}")
        ceiling = Ceiling(watched.latency_ms, watched.offered_rps)
        self.series = LiveSeries(name, ceiling)

    def read(self) -> dict[str, Any] | None:
        """Read the live file once (None until Locust's test starts and writes it)."""
        try:
            document: dict[str, Any] = json.loads(self.watched.live_file.read_text())
        except (OSError, ValueError):
            return None
        return document

    def to_dict(self) -> dict[str, Any]:
        watched = self.watched
        return {
            "label": watched.label,
            "target": watched.target,
            "scenario": watched.scenario,
            "started": watched.started,
            "windows": [list(w) for w in watched.windows],
            "latency_ms": watched.latency_ms,
            "own_ceiling": watched.own_ceiling_rps,
            "seconds": [row.to_dict() for row in self.series.rows()],
            "inside": _inside(watched.inside() if watched.inside else None),
        }


def _inside(found: Telemetry | None) -> dict[str, Any] | None:
    """The server's own series so far, each second drawn where it ends (as the clients')."""
    if found is None:
        return None
    series = {
        "requests in progress": found.in_progress,
        "upstream calls": found.upstream_in_progress,
        "threadpool busy": found.threadpool_busy,
        "threadpool waiting": found.threadpool_waiting,
        "gthread threads busy": found.threads_busy,
    }
    lags = {"event-loop lag p99": found.loop_lag_ms, "gevent hub lag p99": found.hub_lag_ms}
    return {
        "start": found.start,
        "held": {name: list(v) for name, v in series.items() if any(x is not None for x in v)},
        "lag_ms": {name: list(v) for name, v in lags.items() if any(x is not None for x in v)},
    }


class LiveView:
    """The live page and its event stream; an Observer of the runners (bench.running.observe)."""

    def __init__(self, port: int = DEFAULT_PORT, title: str = "bench", host: str = HOST) -> None:
        self.title = title
        self._section = {"title": title, "text": ""}
        self._lock = threading.Lock()
        self._published = threading.Condition(self._lock)
        self._current: _Current | None = None
        self._finished: list[dict[str, Any]] = []
        self._measured = 0
        self._payload = b"{}"
        self._version = 0
        self._closed = False
        self._streams = 0
        self._listener: RateListener | None = None
        self._stop = threading.Event()
        self._server = _Server((host, port), _Handler, self)
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="live-http", daemon=True),
            threading.Thread(target=self._ticks, name="live-tick", daemon=True),
        ]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    # --- lifetime ---------------------------------------------------------------------

    def start(self) -> str:
        """Serve the page; return its URL."""
        self._publish()
        for thread in self._threads:
            thread.start()
        return self.url

    def close(self) -> None:
        """Publish the last state, end every stream with `done`, stop serving."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._threads[1].join(timeout=TICK_S * 3)
        self._publish(status="done")
        with self._lock:
            self._closed = True
            self._published.notify_all()
            self._published.wait_for(lambda: self._streams == 0, timeout=CLOSE_GRACE_S)
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LiveView:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- what the runners and the commands tell it -------------------------------------

    def section(self, title: str, text: str = "") -> None:
        """Start a section (one demo of `bench demo all`): its points are listed apart."""
        with self._lock:
            self._section = {"title": title, "text": text}
            self._finished = []
            self._current = None
        self._publish()

    def started(self, watched: Watched) -> None:
        with self._lock:
            self._current = _Current(watched)
        self._publish()

    def finished(self, point: Point) -> None:
        with self._lock:
            self._finished.append(finished_row(point))
            self._measured += 1
        self._publish()

    def listen(self, listener: RateListener | None) -> None:
        """Call `listener` every second with the last second's req/s (None before the first).

        One listener at a time: the progress bar of the run (or demo) going on now.
        """
        with self._lock:
            self._listener = listener

    # --- the ticks ----------------------------------------------------------------------

    def _ticks(self) -> None:
        while not self._stop.wait(TICK_S):
            self.tick()

    def tick(self) -> None:
        """Read the live file once and publish what it says (the tick thread's work)."""
        with self._lock:
            current = self._current
        # The file is read and parsed outside the lock; only the update holds it.
        document = current.read() if current is not None else None
        if current is not None and document is not None:
            with self._lock:
                current.series.update(document)
        self._publish()
        with self._lock:
            latest = current.series.latest() if current is not None else None
            listener = self._listener
        if listener is not None:
            listener(float(latest.requests) if latest is not None else None)

    def snapshot(self, status: str | None = None) -> dict[str, Any]:
        """Everything a page draws, as one JSON-able document."""
        with self._lock:
            current = self._current
            return {
                "title": self.title,
                "section": dict(self._section),
                "status": status or ("measuring" if current else "waiting"),
                "now": time.time(),
                "point": current.to_dict() if current else None,
                "finished": list(self._finished),
                "measured": self._measured,
            }

    def _publish(self, status: str | None = None) -> None:
        payload = json.dumps(self.snapshot(status), separators=(",", ":")).encode()
        with self._lock:
            self._payload = payload
            self._version += 1
            self._published.notify_all()

    def latest(self) -> bytes:
        with self._lock:
            return self._payload

    def wait(self, seen: int, timeout: float) -> tuple[bytes | None, int, bool]:
        """Wait for a snapshot newer than `seen`: (payload or None on timeout, version, closed)."""
        with self._lock:
            fresh = self._published.wait_for(
                lambda: self._version != seen or self._closed, timeout=timeout
            )
            payload = self._payload if fresh and self._version != seen else None
            return payload, self._version, self._closed

    @property
    def streams(self) -> int:
        """How many pages follow the event stream now."""
        with self._lock:
            return self._streams

    def stream_opened(self) -> None:
        with self._lock:
            self._streams += 1

    def stream_closed(self) -> None:
        with self._lock:
            self._streams -= 1
            self._published.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], view: LiveView
    ) -> None:
        super().__init__(address, handler)
        self.view = view


def page(snapshot: bytes) -> bytes:
    """The page with a snapshot inside, so that it draws before the first event."""
    document = shell.render(
        shell.Page("bench live", SECTIONS, lead=STATUS, script=SCRIPT.read_text(), kind="live")
    ).encode()
    # "</" cannot end the script element that holds the JSON.
    embedded = snapshot.replace(b"</", b"<\\/")
    return document.replace(b"/*SNAPSHOT*/null", embedded)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the terminal shows the run's progress, not the page's requests."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        view = self.server.view
        if path == "/events":
            self._events(view)
        elif path in ("/", "/index.html"):
            self._send(page(view.latest()), "text/html; charset=utf-8")
        elif path == "/state":
            self._send(view.latest(), "application/json")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self, view: LiveView) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        view.stream_opened()
        try:
            self._relay(view)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page was closed
        finally:
            view.stream_closed()

    def _relay(self, view: LiveView) -> None:
        seen = -1
        while True:
            payload, seen, closed = view.wait(seen, KEEPALIVE_S)
            if closed:
                last = view.latest()
                done = json.dumps({"measured": view.snapshot()["measured"]}).encode()
                self.wfile.write(b"data: " + last + b"\n\nevent: done\ndata: " + done + b"\n\n")
                self.wfile.flush()
                return
            self.wfile.write(b"data: " + payload + b"\n\n" if payload else b": keep-alive\n\n")
            self.wfile.flush()
