"""CPU and memory of process trees over a measurement window (psutil)."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass
class Series:
    """A tree's resources at each sample: for the growth over a soak window."""

    at: list[float] = field(default_factory=list)  # Unix seconds
    rss_mb: list[float] = field(default_factory=list)
    fds: list[float] = field(default_factory=list)
    threads: list[float] = field(default_factory=list)


class TreeSampler:
    """The CPU % (100 = one core) and peak RSS of a process tree between start and stop.

    The tree is re-read at every sample, so workers that a server respawns inside the
    window are counted (all of their CPU time, since they started inside it), and a
    worker that exits is counted up to its last sample. With `series`, every sample also
    records the tree's RSS, open file descriptors and threads (a soak).
    """

    def __init__(self, pid: int, interval: float = 0.5, series: bool = False) -> None:
        self.pid = pid
        self.interval = interval
        self.series = Series() if series else None
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        # (Unix time, CPU seconds used since start) at every sample: for per-second CPU.
        self.trace: list[tuple[float, float]] = []
        self._peak_rss = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        rss = fds = threads = 0
        for process in _tree(self.pid):
            try:
                times = process.cpu_times()
                rss += process.memory_info().rss
                if self.series is not None:
                    fds += process.num_fds()
                    threads += process.num_threads()
            except psutil.NoSuchProcess:
                continue
            self._last[process.pid] = times.user + times.system
        self._peak_rss = max(self._peak_rss, rss / 2**20)
        if self._first:
            self.trace.append((time.time(), self._used()))
        if self.series is not None:
            self.series.at.append(time.time())
            self.series.rss_mb.append(rss / 2**20)
            self.series.fds.append(fds)
            self.series.threads.append(threads)

    def start(self) -> None:
        """Take the first sample and keep sampling in a thread."""
        self._started = time.monotonic()
        self._sample()
        self._first = dict(self._last)
        self.trace.append((time.time(), 0.0))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self._sample()

    def _used(self) -> float:
        return sum(last - self._first.get(pid, 0.0) for pid, last in self._last.items())

    def mark(self) -> Mark:
        """Sample now; return the CPU used since start and the peak RSS since the last mark."""
        with self._lock:
            self._sample()
            mark = Mark(time.monotonic(), self._used(), self._peak_rss)
            self._peak_rss = 0.0
        return mark

    def stop(self) -> tuple[float, float]:
        """Stop sampling; return (CPU % of one core, peak RSS in MiB) over the window."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        elapsed = time.monotonic() - self._started
        return (100 * self._used() / elapsed if elapsed > 0 else 0.0), self._peak_rss


EARLY_S = 0.25  # how late a sampler may start after a whole second and still cover it


def per_second(trace: list[tuple[float, float]], start: int, end: int) -> list[float | None]:
    """CPU % (100 = one core) in each whole second of [start, end) from a sampler's
    trace, the CPU used at each whole second interpolated between the samples around it
    (None where the trace does not cover the second)."""

    def used_at(at: float) -> float | None:
        for (t0, u0), (t1, u1) in itertools.pairwise(trace):
            if t0 <= at <= t1:
                return u0 if t1 == t0 else u0 + (u1 - u0) * (at - t0) / (t1 - t0)
        # A sampler started just after the window opened: nothing was used before it.
        if trace and 0 <= trace[0][0] - at <= EARLY_S:
            return trace[0][1]
        return None

    marks = [used_at(float(second)) for second in range(start, end + 1)]
    return [None if a is None or b is None else 100 * (b - a) for a, b in itertools.pairwise(marks)]


@dataclass(frozen=True)
class Mark:
    """A sampler's reading at one moment: for the usage between two marks."""

    at: float  # time.monotonic()
    cpu_s: float  # CPU seconds used by the tree since the sampler started
    peak_rss_mb: float  # since the previous mark

    def usage_until(self, later: Mark) -> tuple[float, float]:
        """(CPU % of one core, peak RSS in MiB) between this mark and a later one."""
        elapsed = later.at - self.at
        cpu = 100 * (later.cpu_s - self.cpu_s) / elapsed if elapsed > 0 else 0.0
        return cpu, later.peak_rss_mb


class CoreSampler:
    """How busy some cores were, whoever kept them busy (psutil's per-CPU times).

    The server's process tree may use little CPU while its cores are busy with other
    processes: a machine that is not quiet. A point's limit says so.
    """

    def __init__(self, cpus: list[int]) -> None:
        self.cpus = cpus

    def mark(self) -> tuple[float, float]:
        """(busy seconds, total seconds) of the cores so far."""
        times = psutil.cpu_times(percpu=True)
        busy = total = 0.0
        for cpu in self.cpus:
            if cpu >= len(times):
                continue
            sample = times[cpu]
            idle = sample.idle + getattr(sample, "iowait", 0.0)
            all_time = sum(sample)
            busy += all_time - idle
            total += all_time
        return busy, total

    def busy_pct(self, first: tuple[float, float], last: tuple[float, float]) -> float | None:
        """Percent busy between two marks, 100 per core like a process's CPU %."""
        busy, total = last[0] - first[0], last[1] - first[1]
        return None if total <= 0 else 100 * busy / total * len(self.cpus)
