"""A command pinned to one core for the scripts beside this file (imported by them)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def process(
    args: list[str], core: int, env: dict[str, str], ready: str
) -> Iterator[psutil.Process]:
    """Run a command pinned to `core` in its own session until the block ends.

    It is ready when `ready` answers 200 (within 30 s, else RuntimeError); at the end its
    whole session gets SIGTERM.
    """
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} did not start")
            time.sleep(0.2)
        yield psutil.Process(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
