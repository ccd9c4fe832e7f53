"""Load that changes while Locust runs, one step at a time, as a runner decides.

    locust -f bench/locustfiles/complete.py,bench/locustfiles/control.py --headless ...

With BENCH_CONTROL_FILE set, this process (a local runner or a master) reads that file
every POLL_S seconds. The runner rewrites it (atomically) with the next step when it has
judged the last one, so a step lasts as long as its verdict needs, not a length fixed in
advance:

    {"step": 3, "users": 400, "spawn_rate": 800}   closed loop: Locust's user count
    {"step": 4, "rate": 650.0}                      open loop: the arrival rate, from now

A rate reaches this process's dispatcher only (bench.locustfiles.scenario): the capacity
search runs one Locust process. The initial load is Locust's own -u/-r (and the
--bench-rate knob); a step equal to the one read before is not applied again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from bench.locustfiles import scenario

POLL_S = 0.05
"""How often the control file is read."""

logger = logging.getLogger(__name__)


class _Control:
    follower: Any = None  # the greenlet reading the file
    step: object = None  # the last step applied


def _read(path: Path) -> dict[str, Any] | None:
    try:
        order = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not written yet, or caught mid-rename
    return order if isinstance(order, dict) else None


def _apply(environment: Environment, order: dict[str, Any]) -> None:
    runner = environment.runner
    if "users" in order and runner is not None:
        runner.start(int(order["users"]), float(order.get("spawn_rate") or order["users"]))
    if "rate" in order:
        scenario.retarget(float(order["rate"]), time.time())


def _follow(environment: Environment, path: Path) -> None:
    while True:
        order = _read(path)
        if order is not None and order.get("step") != _Control.step:
            _Control.step = order.get("step")
            try:
                _apply(environment, order)
            except Exception:  # a bad order must not end the test: it says so
                logger.exception("cannot apply the control file's step %s", _Control.step)
        gevent.sleep(POLL_S)


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    path = os.environ.get("BENCH_CONTROL_FILE")
    if not path or isinstance(environment.runner, WorkerRunner) or _Control.follower:
        return
    # The step the runner wrote before launching is Locust's initial load already.
    first = _read(Path(path))
    _Control.step = first.get("step") if first else None
    _Control.follower = gevent.spawn(_follow, environment, Path(path))


# Once per process: `locust -f bench/locustfiles/` also loads this file as a locustfile
# named "control", beside the bench.locustfiles.control a runner names.
if __name__ in ("bench.locustfiles.control", "control"):
    events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
