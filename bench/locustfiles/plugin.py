"""The suite's own statistics inside Locust: precise, windowed, merged across processes.

Importing this module (every locustfile does) registers Locust event listeners:

- `request`: every request event of every user. A request counts when it completes
  inside the window [BENCH_WINDOW_START, BENCH_WINDOW_END) (Unix seconds; without
  them, the whole test). A success adds to its name's count and latency histogram
  (Locust's response_time, ms); a failure adds one to its name's errors under
  `totals.error_kind`: the status code ("503") when the response has one >= 400,
  else the exception's class name ("ConnectionRefusedError", "CatchResponseError"
  for a body that failed its check, "StreamIncomplete"...).
- `record()` and `record_fidelity()`: the stream user's figures, without a Locust
  event each (an event per inter-token gap would cost more than it measures).
- Open loop (bench.locustfiles.arrivals): a request event whose context carries
  INTENDED_AT counts its response time from that intended send time, and Locust's own
  time (from the actual send) as its service time; `record_lateness`, `record_dropped`
  and `record_outstanding` keep the generator's own figures. A master gives each worker
  its share of the arrivals (`share()`: its index among the workers, their count, and
  the common start of the schedule) before the test starts on it.
- Distributed runs (`--processes N`, or `--master` and `--worker`s): each worker
  attaches its CUMULATIVE totals since its test start to every report to the master
  (`report_to_master`, every 3 s and once more when it quits), and the master keeps
  the latest report of each worker id (`worker_report`) and merges them when it
  writes. Replacing rather than adding makes a lost or repeated report harmless.
- The process that owns the totals (the master, or a local runner) writes the
  document of `totals` to BENCH_RESULT_FILE when Locust quits (and a local runner
  also when a test stops), atomically.
- Live: with BENCH_LIVE_FILE set, that process also rewrites that file just after
  every whole second with the users running now and the buckets of the last
  LIVE_SECONDS seconds, for a runner that decides while the test runs (a load ramp
  that stops once the target is saturated) and for the live view. A master's buckets
  lag by a report period.

Caveat (Locust 2.47): a master that quits sends "quit" to its workers, waits 0.5 s
for their final reports, then stops listening. A worker's figures recorded after
its last report only arrive if its final report makes it within that 0.5 s.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
import time
from typing import Any

import gevent
import gevent.event
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from bench.locustfiles.records import FLUSH_S, RequestLog, process_tag
from bench.locustfiles.slo import RequestFigures, Slos
from bench.locustfiles.sse import StreamContext
from bench.locustfiles.totals import LiveText, Totals, Window, document, error_kind
from bench.results.files import write_json_atomic, write_text_atomic
from bench.results.requests import Record

COMPLETED_AT = "bench_completed_at"
"""Context key: the Unix time a request completed, when its event fires later."""

REPORT_KEY = "bench_totals"
"""Key of the worker's totals in the data that Locust sends to the master."""

HOST_KEY = "bench_host"
"""Key of the worker's host name in the same data."""

WINDOW_MESSAGE = "bench_window"
"""Custom message by which a master gives its window to workers started elsewhere."""

SHARE_MESSAGE = "bench_share"
"""Custom message by which a master gives each worker its share of open-loop arrivals."""

INTENDED_AT = "bench_intended_at"
"""Context key: the Unix time an open-loop request was meant to be sent."""

REQUEST_ID = "bench_request_id"
"""Context key: the X-Request-ID the request carried."""

SCENARIO = "bench_scenario"
"""Context key: the scenario of the user that sent it (which objectives apply)."""

STREAM = "bench_stream"
"""Context key: a stream's own figures (bench.locustfiles.stream.StreamContext)."""

SHARE_WAIT_S = 10.0
"""How long a worker waits for its share before it sends nothing (and says so)."""

SCHEDULE_LEAD_S = 0.5
"""A master starts the common schedule this long after it gives the shares out."""

LIVE_SECONDS = 120
"""How many recent seconds the live file holds."""

LIVE_AFTER_S = 0.05
"""How long after each whole second the live file is written."""

logger = logging.getLogger(__name__)


class _State:
    """The plugin's state in this process (one Locust environment per process)."""

    def __init__(self) -> None:
        self.environment: Environment | None = None
        self.window = Window.from_env()
        self.totals = Totals()
        self.worker_reports: dict[str, dict[str, Any]] = {}
        self.worker_hosts: dict[str, str] = {}
        # A worker on another host has no BENCH_WINDOW_* of its own; its master sends it.
        self.remote_window: Window | None = None
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.live: Any = None  # the greenlet writing BENCH_LIVE_FILE
        # Open loop: (this process's index, the processes, the schedule's start); a worker
        # gets it from its master, a local runner is the one process.
        self.share: tuple[int, int, float] | None = None
        self.share_given = gevent.event.Event()
        self.slos: Slos | None = None  # the objectives each request is judged against
        self.records: RequestLog | None = None  # BENCH_REQUESTS_FILE: every request's row
        self.request_ids = itertools.count(1)
        self.process = ""
        self.id_prefix = f"{secrets.token_hex(3)}-"

    def reset(self) -> None:
        self.window = self.remote_window or Window.from_env()
        self.totals = Totals()
        self.worker_reports = {}
        self.worker_hosts = {}
        self.started_at = time.time()
        self.stopped_at = None


_state = _State()


def record(metric: str, value_ms: float, *, at: float | None = None) -> None:
    """Record a stream figure ("ttft", "tpot" or "itl") that completed at `at` (default now)."""
    when = time.time() if at is None else at
    if _state.window.contains(when):
        _state.totals.add_figure(metric, value_ms, when)


def record_fidelity(events_received: int, tokens_expected: int, *, at: float | None = None) -> None:
    """Record one stream's delta events against the tokens the mock emitted."""
    when = time.time() if at is None else at
    if _state.window.contains(when):
        _state.totals.add_fidelity(events_received, tokens_expected, when)


def configure(slos: Slos | None) -> None:
    """The objectives that requests are judged against from now on (None: none)."""
    _state.slos = slos


def next_request_id() -> str:
    """A new X-Request-ID: this process's random prefix and a counter (a sane token)."""
    return f"{_state.id_prefix}{next(_state.request_ids):x}"


def record_lateness(lateness_ms: float, *, at: float) -> None:
    """Open loop: a request sent `lateness_ms` after its intended time, at `at`."""
    if _state.window.contains(at):
        _state.totals.add_lateness(lateness_ms, at)


def record_dropped(*, at: float) -> None:
    """Open loop: an arrival due at `at` that found the requests in flight at their cap."""
    if _state.window.contains(at):
        _state.totals.add_dropped(at)


def record_outstanding(in_flight: int, *, at: float) -> None:
    """Open loop: requests in flight in this process at `at`."""
    if _state.window.contains(at):
        _state.totals.add_outstanding(in_flight, at)


def share() -> tuple[int, int, float] | None:
    """This process's share of open-loop arrivals: (index, processes, common start).

    A local runner is the only process and starts now; a worker waits for its master's
    message (None when it never came: the process then sends nothing, and says so).
    """
    if not isinstance(_runner(), WorkerRunner):
        return 0, 1, time.time()
    _state.share_given.wait(SHARE_WAIT_S)
    if _state.share is None:
        logger.error("no share of the arrivals from the master within %g s", SHARE_WAIT_S)
    return _state.share


def owned_totals() -> tuple[Totals, int]:
    """Return the totals this process owns and how many generator processes they cover."""
    if isinstance(_runner(), MasterRunner):
        merged = Totals()
        for report in _state.worker_reports.values():
            merged.merge(Totals.from_dict(report))
        return merged, len(_state.worker_reports)
    return _state.totals, 1


def _runner() -> object:
    return None if _state.environment is None else _state.environment.runner


def _write_result() -> None:
    path = os.environ.get("BENCH_RESULT_FILE")
    if not path or isinstance(_runner(), WorkerRunner):
        return
    totals, processes = owned_totals()
    now = time.time()
    start = _state.window.start if _state.window.start is not None else _state.started_at
    end = _state.window.end if _state.window.end is not None else _state.stopped_at
    doc = document(start or now, end or now, processes, totals)
    if isinstance(_runner(), MasterRunner):
        doc["workers"] = [
            {
                "id": client_id,
                "host": _state.worker_hosts.get(client_id, "unknown"),
                "requests": Totals.from_dict(report).between().to_dict()["requests"],
            }
            for client_id, report in sorted(_state.worker_reports.items())
        ]
        doc["hosts"] = len({worker["host"] for worker in doc["workers"]})
    else:
        doc["hosts"] = 1
    write_json_atomic(path, doc)
    logger.debug("wrote %s (%d processes)", path, processes)


def _write_live(path: str) -> None:
    live = LiveText(keep=not isinstance(_runner(), MasterRunner))
    while True:
        runner = _runner()
        users = int(getattr(runner, "user_count", 0) or 0)
        totals, _ = owned_totals()
        try:
            # Compact and not synced: the file is rewritten every second while arrivals
            # wait on this loop (indented and synced, 15 ms a write held open-loop
            # arrivals back by 12-17 ms at p99 in a capacity search).
            text = live.text(totals, users, time.time(), LIVE_SECONDS)
            write_text_atomic(path, text, durable=False)
        except OSError as exc:  # a full disk must not stop the test
            logger.warning("cannot write %s: %s", path, exc)
        # Just after each whole second: a reader waiting for a second's bucket to be whole
        # has it then, not up to a second later.
        gevent.sleep(1.0 - time.time() % 1.0 + LIVE_AFTER_S)


def _start_live() -> None:
    path = os.environ.get("BENCH_LIVE_FILE")
    if path and not isinstance(_runner(), WorkerRunner) and _state.live is None:
        _state.live = gevent.spawn(_write_live, path)


def _stop_live() -> None:
    if _state.live is not None:
        _state.live.kill(block=False)
        _state.live = None


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    _state.environment = environment
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(WINDOW_MESSAGE, _on_window_message)
        environment.runner.register_message(SHARE_MESSAGE, _on_share_message)


def _on_window_message(msg: Any, **_kwargs: Any) -> None:
    # Locust calls custom-message listeners as listener(environment=..., msg=...).
    data = msg.data or {}
    _state.remote_window = Window(data.get("start"), data.get("end"))
    _state.window = _state.remote_window


def _on_share_message(msg: Any, **_kwargs: Any) -> None:
    data = msg.data or {}
    _state.share = (int(data["index"]), int(data["count"]), float(data["start"]))
    _state.share_given.set()


def _give_shares(runner: MasterRunner) -> None:
    """Each worker's index among them all, their count, and the schedule's common start.

    Sent before the spawn messages (Locust fires test_start first), and in order on each
    worker's connection: a worker has its share before its users start.
    """
    workers = sorted(w.id for w in runner.clients.ready + runner.clients.running)
    start = time.time() + SCHEDULE_LEAD_S
    for index, client_id in enumerate(workers):
        data = {"index": index, "count": len(workers), "start": start}
        runner.send_message(SHARE_MESSAGE, data, client_id)


def _open_records() -> None:
    """BENCH_REQUESTS_FILE: this process's part of the point's request file."""
    base = os.environ.get("BENCH_REQUESTS_FILE")
    if base and _state.records is None and not isinstance(_runner(), MasterRunner):
        _state.records = RequestLog(base)
        _state.process = process_tag()
        gevent.spawn(_flush_records)


def _flush_records() -> None:
    while _state.records is not None:
        gevent.sleep(FLUSH_S)
        if _state.records is not None:
            _state.records.flush()


def _close_records() -> None:
    if _state.records is not None:
        records, _state.records = _state.records, None
        records.close()


def _on_test_start(**_kwargs: Any) -> None:
    _state.reset()
    _start_live()
    _open_records()
    runner = _runner()
    if isinstance(runner, MasterRunner) and _state.window.start is not None:
        runner.send_message(
            WINDOW_MESSAGE, {"start": _state.window.start, "end": _state.window.end}
        )
    if isinstance(runner, MasterRunner):
        _give_shares(runner)


def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    at = context.get(COMPLETED_AT) if context else None
    when = time.time() if at is None else at
    if not _state.window.contains(when):
        return
    context = context or {}
    intended = context.get(INTENDED_AT)
    response_ms = response_time
    kind = ""
    if exception is None and intended is not None:
        # Open loop: the response time runs from when the request was meant to be sent.
        response_ms = max((when - intended) * 1000.0, response_time)
        _state.totals.add_success(name, response_ms, when, service_ms=response_time)
    elif exception is None:
        _state.totals.add_success(name, response_time, when)
    else:
        kind = error_kind(exception, getattr(response, "status_code", None))
        _state.totals.add_failure(name, kind, when)
    stream: StreamContext | None = context.get(STREAM)
    _judge(context, response_ms, stream, exception is None, when)
    if _state.records is not None:
        _state.records.write(_record(context, stream, when, response_time, response, kind, _kwargs))


def _judge(
    context: dict[str, Any], e2e_ms: float, stream: StreamContext | None, ok: bool, when: float
) -> None:
    """Count the request against the objectives that apply to its scenario."""
    slos, scenario = _state.slos, context.get(SCENARIO)
    if slos is None or scenario is None or not slos.applying(scenario):
        return
    figures = None
    if ok:
        figures = RequestFigures(e2e_ms, *(stream.figures() if stream else (None, None, None)))
    _state.totals.add_judged(slos.judge(scenario, figures), when)


def _record(
    context: dict[str, Any],
    stream: StreamContext | None,
    ended: float,
    response_time: float,
    response: Any,
    kind: str,
    event: dict[str, Any],
) -> Record:
    started = event.get("start_time")
    status = getattr(response, "status_code", None) or 0
    return Record(
        request_id=str(context.get(REQUEST_ID, "")),
        process=_state.process,
        intended_at=context.get(INTENDED_AT),
        sent_at=float(started) if started is not None else ended - response_time / 1000,
        first_byte_at=stream.first_byte_at if stream else None,
        first_token_at=stream.first_token_at if stream else None,
        last_token_at=stream.last_token_at if stream else None,
        ended_at=ended,
        status=int(status),
        error=kind,
        tokens=stream.tokens if stream else None,
        bytes=event.get("response_length"),
    )


def _on_report_to_master(data: dict[str, Any], **_kwargs: Any) -> None:
    data[REPORT_KEY] = _state.totals.to_dict()
    data[HOST_KEY] = socket.gethostname()


def _on_worker_report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    if REPORT_KEY in data:
        _state.worker_reports[client_id] = data[REPORT_KEY]
        _state.worker_hosts[client_id] = str(data.get(HOST_KEY, "unknown"))


def _on_test_stop(**_kwargs: Any) -> None:
    _stop_live()
    _close_records()
    _state.stopped_at = time.time()
    if not isinstance(_runner(), MasterRunner):  # the master's workers have not all reported yet
        _write_result()


def _on_quit(**_kwargs: Any) -> None:
    _close_records()
    _write_result()


def _register() -> None:
    listeners = [
        (events.init, _on_init),
        (events.test_start, _on_test_start),
        (events.request, _on_request),
        (events.report_to_master, _on_report_to_master),
        (events.worker_report, _on_worker_report),
        (events.test_stop, _on_test_stop),
        (events.quit, _on_quit),
    ]
    for hook, listener in listeners:
        hook.add_listener(listener)  # type: ignore[no-untyped-call]  # EventHook is untyped


# Once per process: `locust -f bench/locustfiles/` also loads this file as a locustfile
# named "plugin", beside the bench.locustfiles.plugin that the scenarios import.
if __name__ == "bench.locustfiles.plugin":
    _register()
