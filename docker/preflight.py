"""Check what a command needs before it starts, then become that command.

    python docker/preflight.py --writable /app/results --shown-as ./results \\
        --wait http://fastapi:8000/health --wait http://mock-llm:8900/health -- bench run ...

The headless `bench` service of docker-compose.yml runs its command through this, so that
a run that cannot work is refused at once, with one line that says what to do, instead
of failing with a traceback after the whole stack has started:

- `--writable DIR`: DIR (a bind mount of the host's results folder, shown to the user as
  `--shown-as`) must be writable by this container's user, else exit 2 naming the owner
  and the two fixes (chown the folder, or build the image with the owner's ids).
- `--wait URL`: then wait until each URL answers 200 (the servers' health; up to
  `--timeout` seconds, default 300), else exit 1 naming the service to look at.

Only then it replaces itself with the command (exec: same PID, signals go straight to it).
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from healthcheck import http_ok  # a sibling script, not a package

POLL_S = 0.5


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def writable(directory: Path) -> bool:
    """Return whether this process can create (and remove) a file in `directory`."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".preflight-"):
            return True
    except OSError:
        return False


def unwritable_message(directory: Path, shown_as: str) -> str:
    """The one line that tells the user why `directory` cannot be written and what to do."""
    uid, gid = os.getuid(), os.getgid()
    try:
        owner = f"belongs to uid {directory.stat().st_uid}"
    except OSError:
        owner = "is missing"
    return (
        f"{shown_as} {owner} and this image runs as uid {uid} (gid {gid}), which cannot "
        f"write there: run `sudo chown -R {uid}:{gid} {shown_as}`, or rebuild the image "
        f"as the folder's owner: `BENCH_UID=$(id -u) BENCH_GID=$(id -g) docker compose build`"
    )


def wait_for(urls: list[str], timeout_s: float) -> str | None:
    """Wait until every URL answers 200; return the first that did not in time, or None."""
    deadline = time.monotonic() + timeout_s
    for url in urls:
        announced = False
        while not http_ok(url, timeout_s=2.0):
            if time.monotonic() > deadline:
                return url
            if not announced:
                _say(f"waiting for {url}")
                announced = True
            time.sleep(POLL_S)
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writable", type=Path, action="append", default=[])
    parser.add_argument("--shown-as", action="append", default=[])
    parser.add_argument("--wait", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    for i, directory in enumerate(args.writable):
        if not writable(directory):
            shown = args.shown_as[i] if i < len(args.shown_as) else str(directory)
            _say(unwritable_message(directory, shown))
            return 2
    late = wait_for(args.wait, args.timeout)
    if late is not None:
        service = urllib.parse.urlsplit(late).hostname
        _say(
            f"{late} did not answer within {args.timeout:g} s: see `docker compose logs {service}`"
        )
        return 1
    os.execvp(command[0], command)
    return 1  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
