"""What a run's numbers depend on: machine, cores, Python and package versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path

from bench.results.model import Container, Environment
from bench.running import containers
from bench.running.cpus import can_pin, child_nofile, usable_cpus

PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "flask",
    "werkzeug",
    "flask-openapi3",
    "django",
    "djangorestframework",
    "adrf",
    "drf-spectacular",
    "uvicorn",
    "uvicorn-worker",
    "gunicorn",
    "gevent",
    "uvloop",
    "httptools",
    "httpx",
    "aiohttp",
    "openai",
    "urllib3",
    "locust",
    "geventhttpclient",
    "psutil",
)

# bench/running/environment.py: three levels below the repository.
REPO_ROOT = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions() -> dict[str, str | None]:
    """Return the installed version of every framework, server and client package."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    """Return the suite's git commit (with -dirty when the tree has changes)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def capture(server_cpus: list[int], load_cpus: list[int]) -> Environment:
    """Return the `environment` section of a results file."""
    # What every child of the run gets: pinning where the system can, and the hard
    # open-file limit (thousands of requests in flight need thousands of sockets).
    # Inside a container: its CPU quota, cpuset, memory limit and name, as really given.
    container = containers.describe()
    return Environment(
        host=socket.gethostname(),
        os=f"{platform.system()} {platform.release()}",
        cpu_model=cpu_model(),
        cores=os.cpu_count(),
        usable_cores=len(usable_cpus()),
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        python=platform.python_version(),
        packages=package_versions(),
        pinned=can_pin(),
        nofile=child_nofile(),
        container=Container(**container) if container is not None else None,
    )
