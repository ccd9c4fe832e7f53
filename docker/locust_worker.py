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

Until the master's host name resolves (in compose, until a master container exists:
the interactive one, or the headless `bench` that answers to the same name), the wrapper
waits quietly instead of starting Locust, which would log `Error resolving address` every
second: one line when it starts waiting, one when the master's name appears.

SIGTERM or SIGINT is passed on to the running worker, and the wrapper then exits with
the worker's status. `--help` is Locust's own help.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from types import FrameType

QUICK_EXIT_S = 5.0
"""A worker that fails sooner than this after its start counts as failing fast."""

MAX_PAUSE_S = 10.0


def _log(message: str) -> None:
    print(f"locust_worker: {message}", file=sys.stderr, flush=True)


def master_host(argv: list[str]) -> str | None:
    """The --master-host of a Locust command line (Locust's default: 127.0.0.1)."""
    for i, arg in enumerate(argv):
        if arg == "--master-host" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--master-host="):
            return arg.split("=", 1)[1]
    return None


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


class Supervised:
    """The worker process, restarted whenever it exits, until a signal stops us."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def wait_for(self, host: str | None) -> None:
        """Wait until the master's name resolves (a master that is not up yet)."""
        if not host or resolves(host):
            return
        _log(f"waiting for the master {host} (its name does not resolve yet)")
        while not self.stopping and not resolves(host):
            time.sleep(0.5)
        if not self.stopping:
            _log(f"the master {host} resolves: starting the worker")

    def run_once(self) -> tuple[int, float]:
        """Run the worker until it exits; return its exit code and how long it ran."""
        started = time.monotonic()
        self.child = subprocess.Popen(self.command)
        if self.stopping and self.child.poll() is None:  # a signal between check and Popen
            self.child.terminate()
        return self.child.wait(), time.monotonic() - started

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "locust", "--worker", *argv]
    if "-h" in argv or "--help" in argv:
        return subprocess.call(command)
    worker = Supervised(command)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    fast_failures = code = 0
    host = master_host(argv)
    while not worker.stopping:
        worker.wait_for(host)
        if worker.stopping:
            break
        code, ran_s = worker.run_once()
        if worker.stopping:
            break
        fast_failures = fast_failures + 1 if code != 0 and ran_s < QUICK_EXIT_S else 0
        pause_s = min(2.0**fast_failures, MAX_PAUSE_S) if fast_failures else 0.5
        _log(f"worker exited with {code} after {ran_s:.1f} s; starting again in {pause_s:g} s")
        worker.pause(pause_s)
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
