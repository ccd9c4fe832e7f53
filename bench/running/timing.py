"""How long a point takes, phase by phase: the runner and the progress display both ask here.

A point is: Locust starting up, the warm-up, the measured window, and a tail in which
Locust's processes deliver their last figures before it quits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Locust needs about a second to import and start; the window opens after this margin
# plus the warm-up, on the wall clock shared by every process.
LOCUST_STARTUP_S = 2.0
# Master mode: workers elsewhere connect when the master binds; allow them this long.
LOCUST_MASTER_STARTUP_S = 8.0
LOCUST_TAIL_S = 1.5
# Locust workers report to their master every 3 s, and a master that quits waits only
# 0.5 s for their last reports: with several processes the window must close a whole
# report period before the run does.
LOCUST_TAIL_DISTRIBUTED_S = 3.5
# How long the runner waits for the server to go quiet between points (at most).
BETWEEN_POINTS_S = 1.0


@dataclass(frozen=True)
class PointTiming:
    """The phases of one point, in seconds."""

    startup_s: float
    warmup_s: float
    duration_s: float
    tail_s: float

    @classmethod
    def of(
        cls, warmup_s: float, duration_s: float, *, distributed: bool, master: bool
    ) -> PointTiming:
        """Return the timing of a point with this warm-up and window.

        Args:
            distributed: the load comes from several Locust processes (local or remote).
            master: Locust runs as a master waiting for workers started elsewhere.
        """
        return cls(
            startup_s=LOCUST_MASTER_STARTUP_S if master else LOCUST_STARTUP_S,
            warmup_s=warmup_s,
            duration_s=duration_s,
            tail_s=LOCUST_TAIL_DISTRIBUTED_S if distributed else LOCUST_TAIL_S,
        )

    @property
    def window_offset_s(self) -> float:
        """From Locust's start to the window's opening."""
        return self.startup_s + self.warmup_s

    @property
    def locust_run_s(self) -> int:
        """Locust's --run-time: every phase, rounded up to whole seconds."""
        return math.ceil(self.startup_s + self.warmup_s + self.duration_s + self.tail_s)

    @property
    def total_s(self) -> float:
        """What one point costs in wall time, the pause between points included."""
        return self.locust_run_s + BETWEEN_POINTS_S
