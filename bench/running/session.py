"""The skeleton every runner shares: where its processes live, its signals, its mock.

`bench run` (bench.running.runner) and `bench capacity` (bench.running.capacity) measure
differently but run alike: SIGINT and SIGTERM end the run as `Interrupted` (the points
or searches already stored are kept), every process a run started is stopped on the way
out whatever happened, the results file is written before anything is measured and
again, finished, at the end, and the mock lives for as long as its latency model is
measured. A `Session` holds that once; the runners hold only what they measure.

`Where` (bench.running.launch), the processes' ports, cores, folders and upstream, is
built here from the plan's cores and the options, in one place.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from bench.results import store
from bench.results.model import CoreSpeed, Run
from bench.running import speed
from bench.running.launch import Launcher, Where, start_mock
from bench.running.observe import Observer
from bench.running.plan import MockSettings
from bench.running.processes import Supervisor

if TYPE_CHECKING:  # the runner imports this module: Options is only a type here
    from bench.running.runner import Options


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; everything is stopped and finished points are kept."""


def now_iso() -> str:
    """The current UTC time, to the second, as the results file writes times."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise Interrupted; the previous handlers come back after."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Session:
    """One run's processes on this machine: where they live, who stops them."""

    def __init__(
        self,
        options: Options,
        server_cpus: Sequence[int],
        load_cpus: Sequence[int],
        target_env: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.options = options
        self.supervisor = Supervisor()
        # --save-requests: the services write an access line per request, the mock logs
        # its calls beside the points' request files.
        logged = (("REQUEST_LOG", "1"),) if options.save_requests else ()
        self.where = Where(
            options.out,
            options.port,
            options.mock_port,
            server_cpus,
            load_cpus,
            options.upstream(),
            options.target_url,
            target_env + logged,
            options.requests_dir,
        )

    @property
    def path(self) -> Path:
        """The run's results file."""
        return self.options.out / store.RESULTS_NAME

    @property
    def observer(self) -> Observer | None:
        # Read when needed: the command layer sets the live view after making the runner.
        return self.options.observer

    def launcher(self, tokens: int) -> Launcher:
        """Starts, verifies and restarts this run's targets (answers of `tokens` tokens)."""
        return Launcher(self.supervisor, self.where, tokens)

    @contextmanager
    def running(self, run: Run, save: Callable[[], None]) -> Iterator[None]:
        """The run's life: interruptible; `save`d before anything is measured and, marked
        finished, at the end; every process stopped on the way out, whatever happened."""
        with interruptible():
            try:
                self._time_cores(run, at_start=True)
                save()
                yield
                self.supervisor.stop_all()  # the cores quiet again before they are timed
                self._time_cores(run, at_start=False)
                run.info.finished_at = now_iso()
                save()
            finally:
                self.supervisor.stop_all()

    def _time_cores(self, run: Run, at_start: bool) -> None:
        """Time the server's cores (bench.running.speed) where the bench starts the server."""
        if self.where.target_url is not None:
            return  # a server the bench did not start: its cores are not these
        before = run.environment.core_speed
        if at_start and before is not None:
            return  # a resumed run keeps the speed it started at
        found = speed.measure(self.where.server_cpus)
        if at_start:
            run.environment.core_speed = CoreSpeed(found)
        elif before is not None:
            run.environment.core_speed = replace(before, end=found)

    @contextmanager
    def mock(self, settings: MockSettings) -> Iterator[subprocess.Popen[bytes] | None]:
        """The mock LLM with this latency model while inside (None: the upstream is not
        the suite's mock)."""
        proc = start_mock(self.supervisor, settings, self.where)
        try:
            yield proc
        finally:
            if proc is not None:
                self.supervisor.stop(proc)
