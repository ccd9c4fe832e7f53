"""The life of a target and of the mock during a run: start, verify, wait for quiet, restart.

Shared by `bench run` (bench.running.runner) and `bench capacity`
(bench.running.capacity): both start the mock with a latency model, then each target
through its own `python -m <service>` command on the server cores, verify it against
the contract before measuring it, and between measurements wait until the previous
one's leftovers have left the server (or restart it).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench.running.measure import Server
from bench.running.plan import MockSettings
from bench.running.processes import Supervisor, log_tail, wait_port_free, wait_ready
from bench.running.targets import Counts, Target
from bench.running.upstream import MOCK_KEY, Upstream
from bench.running.variants import interpreter
from bench.running.verify import verify

if TYPE_CHECKING:
    from bench.running.measure import PointTask

# Between measurements: how long the server must look idle, and how long to wait for
# that before restarting it instead.
QUIET_PAUSE_S = 0.5
QUIET_TIMEOUT_S = 8.0

Progress = Callable[[str, "PointTask | None"], None]


@dataclass(frozen=True)
class Where:
    """Where a run's processes live: ports, folders, cores, a deployment, the upstream."""

    out: Path
    port: int
    mock_port: int
    server_cpus: Sequence[int]
    load_cpus: Sequence[int]
    upstream: Upstream
    target_url: str | None = None
    # Settings of the targets the runner starts, e.g. LLM_TIMEOUT_S (--upstream-timeout).
    target_env: tuple[tuple[str, str], ...] = ()
    requests_dir: Path | None = None  # --save-requests: where the mock logs its calls

    @property
    def mock_base(self) -> str | None:
        """Where the mock's /stats answer (None: no mock to read)."""
        return self.upstream.stats_base


def start_mock(
    supervisor: Supervisor, mock: MockSettings, where: Where
) -> subprocess.Popen[bytes] | None:
    """Start the mock LLM with this latency model (None when the upstream is not ours)."""
    if where.upstream.kind != "mock":
        return None
    args = ["-m", "mock_llm", "--port", str(where.mock_port), "--api-key", MOCK_KEY]
    if where.requests_dir is not None:
        where.requests_dir.mkdir(parents=True, exist_ok=True)
        args += ["--request-log", str(where.requests_dir / MOCK_REQUESTS)]
    log = where.out / "logs" / "mock.log"
    proc = supervisor.start([*args, *mock.mock_args()], where.load_cpus, {}, log)
    try:
        wait_ready(f"{where.mock_base}/health", proc, timeout_s=30)
    except RuntimeError as exc:
        supervisor.stop(proc)
        raise RuntimeError(f"the mock LLM did not start: {exc}\n{log_tail(log)}") from None
    return proc


MOCK_REQUESTS = "mock.csv"  # the mock's request log, beside the points' request files


class Skipped(Exception):
    """A target that did not start or failed verification; the message says why."""


def leftovers_mark(stats: dict[str, Any], drain_below: float) -> int | None:
    """The mock's counter that must stop moving before the server is quiet.

    None while calls in flight must finish first. Sync workers that hold calls may each
    take one more from the queue when they finish, a whole answer later: only a server
    with room to spare has no queue, so only then may its calls be left to drain (and
    new calls alone must stop).
    """
    in_flight = int(stats["in_flight"])
    if in_flight < drain_below:
        return int(stats["requests"])
    return None if in_flight else int(stats["completed"])


class Launcher:
    """Starts, verifies and restarts targets for one run."""

    def __init__(self, supervisor: Supervisor, where: Where, tokens: int) -> None:
        self.supervisor = supervisor
        self.where = where
        self.tokens = tokens

    def _start(self, target: Target, counts: Counts, log: Path) -> subprocess.Popen[bytes]:
        """Start the target's server pinned to the server cores; wait until it answers."""
        port = self.where.port
        if not wait_port_free(port):
            raise RuntimeError(f"port {port} stayed busy")
        env = {
            **self.where.upstream.environment(),
            **dict(self.where.target_env),
            **target.environment(counts),
        }
        # A spec with @pins runs in its package variant's environment.
        python = interpreter(target)
        args = target.command(port, counts)
        proc = self.supervisor.start(args, self.where.server_cpus, env, log, python)
        try:
            wait_ready(f"http://127.0.0.1:{port}/health", proc)
        except RuntimeError as exc:
            self.supervisor.stop(proc)
            raise RuntimeError(f"did not start: {exc}\n{log_tail(log)}") from None
        return proc

    def launch(
        self, target: Target, counts: Counts, scenarios: tuple[str, ...], progress: Progress
    ) -> Server:
        """Start the target (unless external) and verify it; raise Skipped with the reason."""
        log = self.where.out / "logs" / f"{target.name}.log"
        proc = None
        base = self.where.target_url
        if base is None:
            args = target.command(self.where.port, counts)
            progress(f"starting {target.name}: python {' '.join(args)}", None)
            try:
                proc = self._start(target, counts, log)
            except RuntimeError as exc:
                raise Skipped(str(exc)) from None
            base = f"http://127.0.0.1:{self.where.port}"
        failures = verify(
            base, target.framework, scenarios, self.tokens, exact=self.where.upstream.exact_text
        )
        if failures:
            if proc is not None:
                self.supervisor.stop(proc)
            raise Skipped("failed verification: " + "; ".join(failures))
        return Server(base, proc, counts, log)

    def restart(
        self,
        server: Server,
        target: Target,
        progress: Progress,
        why: str = "the previous measurement left it busy",
    ) -> Server | None:
        """Restart a server (by default: one the previous measurement left busy); None if
        it failed."""
        progress(f"restarting {target.name}: {why}", None)
        if server.proc is not None:
            self.supervisor.stop(server.proc)
        try:
            proc = self._start(target, server.counts, server.log)
        except RuntimeError as exc:
            progress(f"{target.name} did not restart: {exc}", None)
            return None
        return Server(server.base_url, proc, server.counts, server.log)

    def settle(
        self, server: Server, target: Target, progress: Progress, *, drain_below: float = 0
    ) -> Server | None:
        """Wait for quiet; restart the server when it stays busy (None: it did not restart).

        `drain_below`: while fewer calls than this are in flight upstream, they may finish
        during what comes next (a capacity ramp settles for an answer's time before its
        first window); only new calls, from a queue of abandoned requests, must have
        stopped. At or above it every worker may be full with a queue behind them.
        """
        if self.quiet(drain_below=drain_below) or server.proc is None:
            return server
        # Cheaper than waiting out a queue of abandoned requests.
        return self.restart(server, target, progress)

    def quiet(self, timeout_s: float = QUIET_TIMEOUT_S, *, drain_below: float = 0) -> bool:
        """Wait until the previous measurement's leftovers have left the server.

        When Locust stops, requests it abandoned may still sit in the server's queue (a
        sync worker serves every accepted connection, even a closed one), and they would
        steal the next window. Quiet means the mock sees nothing in flight and no new
        answers for a while (while fewer than `drain_below` calls are in flight: no new
        calls for a while); hello never reaches the mock, so a short pause covers it.
        """
        time.sleep(QUIET_PAUSE_S)
        if self.where.mock_base is None:
            return True  # no mock to ask: an upstream that is not ours
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            try:
                stats = httpx.get(f"{self.where.mock_base}/stats", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return True  # the mock stopped answering: nothing more to learn
            now = time.monotonic()
            moving = leftovers_mark(stats, drain_below)
            if moving is None or moving != last:
                last, since = moving, now
            elif now - since >= QUIET_PAUSE_S:
                return True
            time.sleep(0.1)
        return False
