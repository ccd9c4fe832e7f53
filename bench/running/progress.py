"""Live progress of a run: current point, elapsed and remaining time (Rich)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.running.plan import Plan

if TYPE_CHECKING:
    from bench.running.measure import PointTask


class LiveProgress:
    """A progress bar over the run's points; `update` is the runner's callback."""

    def __init__(self, console: Console, tasks: list[PointTask], plan: Plan) -> None:
        self._console = console
        per_point = plan.timing().total_s
        self._total = len(tasks)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("remaining"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(
            f"~{per_point * self._total / 60:.1f} min of windows", total=self._total
        )
        self._started = False
        self._done = 0
        self._per_point = per_point
        self._began = time.monotonic()
        # Off a terminal (CI logs, pipes, nohup) a live bar never redraws: print a line
        # per point instead, with the same elapsed and remaining times.
        self._plain = not console.is_terminal
        self._message = ""

    def __enter__(self) -> LiveProgress:
        if not self._plain:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._plain:
            return
        if kind is None:
            self._progress.update(self._task, completed=self._total)
        self._progress.stop()

    def update(self, message: str, task: PointTask | None) -> None:
        """Show the point being measured (advancing the bar), or print a message."""
        if task is None:
            self._console.print(message)
            return
        if self._started:
            self._progress.advance(self._task)
            self._done += 1
        self._started = True
        if self._plain:
            elapsed = time.monotonic() - self._began
            per_point = elapsed / self._done if self._done else self._per_point
            remaining = per_point * (self._total - self._done)
            self._console.print(
                f"[{self._done + 1}/{self._total}] {message} (elapsed {elapsed / 60:.1f} min, "
                f"about {remaining / 60:.1f} min to go)"
            )
            return
        self._message = message
        self._progress.update(self._task, description=message)

    def rate(self, rps: float | None) -> None:
        """Add the live req/s of the point being measured to the bar (--live, every second)."""
        if self._plain or not self._message:
            return
        shown = self._message if rps is None else f"{self._message} · {rps:,.0f} req/s"
        self._progress.update(self._task, description=shown)
