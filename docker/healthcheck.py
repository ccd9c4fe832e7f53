"""Container health check: exit 0 when the component answers, 1 when it does not.

    python -I -S docker/healthcheck.py                  # GET http://127.0.0.1:$HEALTHCHECK_PORT/health
    python -I -S docker/healthcheck.py http://127.0.0.1:8089/
    python -I -S docker/healthcheck.py --process locust # a process named `locust` is running

HTTP mode (services, mock, the Locust web UI): the URL is the argument, or is built from
HEALTHCHECK_PORT (default 8000) and HEALTHCHECK_PATH (default /health) on 127.0.0.1; healthy
means a 200 within HEALTHCHECK_TIMEOUT_S (default 2) seconds.

Process mode (components without an HTTP port: Locust workers, the headless bench): healthy
means some other process runs the program NAME, i.e. NAME is the base name of its
executable, of the script a Python interpreter runs, or of the module after `-m`.

Standard library only, and meant to run under `python -I -S` (no site-packages): Docker runs
it every interval inside the component's container, on the component's CPU quota, so it
must start fast.
"""

from __future__ import annotations

import http.client
import os
import sys
import urllib.parse
from pathlib import Path

USAGE = "usage: healthcheck.py [URL | --process NAME]"


def http_ok(url: str, timeout_s: float) -> bool:
    """Return whether GET `url` answers 200 within `timeout_s` seconds."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http:// URL: {url!r}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout_s)
    try:
        connection.request("GET", parts.path or "/", headers={"Connection": "close"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def program_names(argv: list[str]) -> set[str]:
    """Return the names a command line runs under: executable, Python script or module."""
    if not argv:
        return set()
    names = {Path(argv[0]).name}
    if Path(argv[0]).name.startswith("python"):
        args = iter(argv[1:])
        for arg in args:
            if arg == "-m":
                names.add(next(args, ""))
                break
            if arg in ("-c", "-W", "-X", "--check-hash-based-pycs"):
                next(args, None)  # an option with a value, not a script
                if arg == "-c":
                    break
            elif not arg.startswith("-"):
                names.add(Path(arg).name)
                break
    return names


def process_running(name: str, proc: Path = Path("/proc")) -> bool:
    """Return whether a process other than this one runs the program `name`."""
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
        argv = [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]
        if name in program_names(argv):
            return True
    return False


def main(argv: list[str]) -> int:
    timeout_s = float(os.environ.get("HEALTHCHECK_TIMEOUT_S", "2"))
    if len(argv) == 2 and argv[0] == "--process":
        healthy = process_running(argv[1])
        target = f"process {argv[1]}"
    elif len(argv) <= 1 and not (argv and argv[0].startswith("-")):
        port = os.environ.get("HEALTHCHECK_PORT", "8000")
        path = os.environ.get("HEALTHCHECK_PATH", "/health")
        target = argv[0] if argv else f"http://127.0.0.1:{port}{path}"
        try:
            healthy = http_ok(target, timeout_s)
        except ValueError as exc:
            print(f"healthcheck: {exc}", file=sys.stderr)
            return 1
    else:
        print(USAGE, file=sys.stderr)
        return 1  # Docker reserves 2; any failure to check is "unhealthy"
    if not healthy:
        print(f"healthcheck: {target} is not healthy", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
