"""Scenario `disconnect`: POST /complete/stream, then hang up after a few deltas.

    locust -f bench/locustfiles/disconnect.py --host http://127.0.0.1:8000

A client that goes away in the middle of a stream (a closed browser tab, a cancelled
job) must make the service close its upstream call, or a real model keeps generating,
and billing. Each user reads `--bench-drop-after` deltas (default 3) and closes its
connection; its prompt carries the mock's drop marker, so that the mock times how long
after that delta the service closed the call (its /stats `cancel`). Locust's table shows
one request per stream, timed to the last delta read.
"""

from __future__ import annotations

# The module, not the class: a user class in this namespace would run too.
from bench.locustfiles import stream
from bench.locustfiles.scenario import active


class DisconnectUser(stream.StreamUser):
    scenario = "disconnect"

    def body(self) -> dict[str, object]:
        return active().dropping_body()

    @property
    def stop_after(self) -> int | None:
        return active().drop_after
