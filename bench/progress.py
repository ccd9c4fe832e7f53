"""Live progress of a run: current point, elapsed and remaining time (Rich)."""

from __future__ import annotations

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

from bench.plan import Plan
from bench.runner import LOCUST_STARTUP_S, LOCUST_TAIL_S

if TYPE_CHECKING:
    from bench.runner import PointTask


class LiveProgress:
    """A progress bar over the run's points; `update` is the runner's callback."""

    def __init__(self, console: Console, tasks: list[PointTask], plan: Plan) -> None:
        self._console = console
        per_point = LOCUST_STARTUP_S + plan.warmup_s + plan.duration_s + LOCUST_TAIL_S
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

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self._progress.update(self._task, completed=self._total)
        self._progress.stop()

    def update(self, message: str, task: PointTask | None) -> None:
        """Show the point being measured (advancing the bar), or print a message."""
        if task is None:
            self._progress.console.print(message)
            return
        if self._started:
            self._progress.advance(self._task)
        self._started = True
        self._progress.update(self._task, description=message)
