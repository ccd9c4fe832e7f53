"""Keep a Locust worker attached to whichever master runs: `locust --worker ARGS`, again and again.

    python docker/locust_worker.py -f bench/locustfiles/hello.py --master-host locust-master

A Locust worker exits when its master quits ("Got quit message from master"), and
`bench run` in master mode starts one Locust master per measured point. A worker that
exited would be missing from the next point, and with `docker compose up
--abort-on-container-exit` (which `--exit-code-from bench` implies) one exiting
container stops the whole stack. So this wrapper runs the worker again whenever it ends:
at once after a normal exit, after a growing pause (2, 4, 8, 10, 10... s) when it keeps
failing within seconds (a broken locustfile, say; each failure is logged, and the
process health check of the container fails while no worker runs).

SIGTERM or SIGINT is passed on to the running worker, and the wrapper then exits with
the worker's status. `--help` is Locust's own help.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

QUICK_EXIT_S = 5.0
"""A worker that fails sooner than this after its start counts as failing fast."""

MAX_PAUSE_S = 10.0


def _log(message: str) -> None:
    print(f"locust_worker: {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "locust", "--worker", *argv]
    if "-h" in argv or "--help" in argv:
        return subprocess.call(command)
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fast_failures = 0
    code = 0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(command)
        if stopping and child.poll() is None:  # the signal came between the check and Popen
            child.terminate()
        code = child.wait()
        if stopping:
            break
        ran_s = time.monotonic() - started
        fast_failures = fast_failures + 1 if code != 0 and ran_s < QUICK_EXIT_S else 0
        pause_s = min(2.0**fast_failures, MAX_PAUSE_S) if fast_failures else 0.5
        _log(f"worker exited with {code} after {ran_s:.1f} s; starting again in {pause_s:g} s")
        deadline = time.monotonic() + pause_s
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
