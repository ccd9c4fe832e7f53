"""The container this process runs in, if any, and the resources it was really given.

A run inside a container (the compose stack) must record what limits its numbers: a CPU
quota (`docker run --cpus`, compose's `cpus:`) is no pinned core, and the host's name is
the container's. `describe()` reads them from the kernel's own files: the cgroup
controllers (v2 `cpu.max`, `cpuset.cpus.effective`, `memory.max`; v1 `cpu.cfs_quota_us` /
`cpu.cfs_period_us`, `cpuset.cpus`, `memory.limit_in_bytes`), `/proc/self/cgroup`,
`/proc/self/mountinfo` and the runtimes' marker files. Standard library only; every
parser is a pure function of the text it is given, so that it is tested on fixtures.

    python -m bench.running.containers      # prints the description as JSON ("null" outside)
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

V1_UNLIMITED_MEMORY = 1 << 60
"""cgroup v1 reports "no memory limit" as a huge number (9223372036854771712 on x86-64)."""

CONTAINER_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")


class ContainerInfo(TypedDict):
    """What `describe()` returns inside a container (JSON-ready)."""

    in_container: bool
    """Always True: outside a container `describe()` returns None."""
    runtime: str
    """docker, podman, kubernetes, containerd, lxc, or "unknown"."""
    hostname: str
    """The container's host name (compose: the service's `hostname:`)."""
    container_id: str | None
    """The runtime's id, shortened to 12 characters as `docker ps` shows it."""
    cgroup_version: int | None
    """1 or 2; None when no cgroup file system is mounted."""
    cpu_quota_cores: float | None
    """CPU time the container may use, in cores (quota / period); None: no quota."""
    cpuset: list[int] | None
    """The CPUs the container may run on, when fewer than the machine's; None: all."""
    online_cpus: int | None
    """How many CPUs the machine has online (what a quota competes for)."""
    memory_limit_bytes: int | None
    """The memory limit; None: no limit."""


# --- pure parsers --------------------------------------------------------------------


def parse_cpu_max(text: str) -> float | None:
    """Cores allowed by a cgroup v2 `cpu.max` ("QUOTA PERIOD", "max PERIOD": no quota)."""
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    quota, period = int(fields[0]), int(fields[1])
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """Cores allowed by cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: no quota)."""
    quota, period = int(quota_text.strip()), int(period_text.strip())
    return quota / period if quota > 0 and period > 0 else None


def parse_cpu_list(text: str) -> list[int]:
    """The CPUs of a kernel CPU list such as "0-3,6,8-9" (empty text: none)."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return sorted(cpus)


def parse_memory_limit(text: str) -> int | None:
    """Bytes of a v2 `memory.max` or v1 `memory.limit_in_bytes`; None when unlimited."""
    value = text.strip()
    if value == "max":
        return None
    limit = int(value)
    return None if limit >= V1_UNLIMITED_MEMORY else limit


def cgroup_paths(text: str) -> dict[str, str]:
    """Map each controller of `/proc/self/cgroup` to its path ("" for the v2 hierarchy).

    "0::/system.slice/x" (v2) gives {"": "/system.slice/x"}; "4:cpu,cpuacct:/docker/ID"
    (v1) gives {"cpu": "/docker/ID", "cpuacct": "/docker/ID"}.
    """
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def container_id(cgroup_text: str, mountinfo_text: str = "") -> str | None:
    """The runtime's container id (12 characters), from the cgroup paths or the mounts.

    cgroup v1 (and v2 without a cgroup namespace) name the container's cgroup after its
    id ("/docker/<64 hex>", "/kubepods/.../cri-containerd-<64 hex>.scope"); under a v2
    cgroup namespace the path is "/", and Docker's bind mounts of /etc/hostname and
    /etc/resolv.conf from /var/lib/docker/containers/<id>/ still name it.
    """
    for path in cgroup_paths(cgroup_text).values():
        found: list[str] = CONTAINER_ID.findall(path)
        if found:
            return found[-1][:12]
    for line in mountinfo_text.splitlines():
        match = re.search(r"/containers/([0-9a-f]{64})/", line)
        if match:
            return match.group(1)[:12]
    return None


def runtime_name(markers: Iterable[str], cgroup_text: str, environ: dict[str, str]) -> str | None:
    """Which runtime made this a container, or None when nothing says it is one.

    `markers` are the marker files that exist ("/.dockerenv", "/run/.containerenv");
    `environ` is the process environment (podman and systemd-nspawn set `container`,
    Kubernetes sets KUBERNETES_SERVICE_HOST).
    """
    present = set(markers)
    if "/run/.containerenv" in present or environ.get("container") == "podman":
        return "podman"
    if "KUBERNETES_SERVICE_HOST" in environ:
        return "kubernetes"
    if "/.dockerenv" in present:
        return "docker"
    paths = " ".join(cgroup_paths(cgroup_text).values())
    for runtime, pattern in (
        ("kubernetes", "kubepods"),
        ("docker", "docker"),
        ("podman", "libpod"),
        ("containerd", "containerd"),
        ("lxc", "lxc"),
    ):
        if pattern in paths:
            return runtime
    return environ.get("container") or None


# --- reading the files ---------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _candidate_dirs(mount: Path, path: str) -> list[Path]:
    """The cgroup directories that may limit this process, the most specific first.

    Without a cgroup namespace the process's cgroup is `mount/path` and its ancestors
    limit it too; with one (or Docker's v1 bind mounts) `mount` itself is the container's
    cgroup and `mount/path` does not exist. Both views are covered by trying each.
    """
    dirs: list[Path] = []
    current = Path(path.strip("/")) if path.strip("/") else None
    while current is not None and current != Path("."):
        dirs.append(mount / current)
        current = current.parent if current.parent != Path(".") else None
    dirs.append(mount)
    return [d for d in dirs if d.is_dir()]


def _cgroup_version(root: Path) -> int | None:
    cgroup = root / "sys/fs/cgroup"
    if (cgroup / "cgroup.controllers").is_file():
        return 2
    if (cgroup / "cpu").is_dir() or (cgroup / "cpu,cpuacct").is_dir():
        return 1
    return None


def _v1_mount(root: Path, controller: str) -> Path:
    cgroup = root / "sys/fs/cgroup"
    for name in (controller, f"{controller},cpuacct", f"cpuacct,{controller}"):
        if (cgroup / name).is_dir():
            return cgroup / name
    return cgroup / controller


def _cpu_quota(root: Path, version: int | None, paths: dict[str, str]) -> float | None:
    """The smallest quota of the process's cgroup and its ancestors, in cores."""
    quotas: list[float] = []
    if version == 2:
        for directory in _candidate_dirs(root / "sys/fs/cgroup", paths.get("", "/")):
            text = _read(directory / "cpu.max")
            cores = parse_cpu_max(text) if text else None
            if cores is not None:
                quotas.append(cores)
    elif version == 1:
        for directory in _candidate_dirs(_v1_mount(root, "cpu"), paths.get("cpu", "/")):
            quota, period = (
                _read(directory / "cpu.cfs_quota_us"),
                _read(directory / "cpu.cfs_period_us"),
            )
            cores = parse_cfs(quota, period) if quota and period else None
            if cores is not None:
                quotas.append(cores)
    return min(quotas) if quotas else None


def _cpuset(root: Path, version: int | None, paths: dict[str, str]) -> list[int] | None:
    """The container's CPUs from its cpuset controller (the process's affinity if none)."""
    dirs: list[Path]
    names: tuple[str, ...]
    if version == 2:
        dirs, names = (
            _candidate_dirs(root / "sys/fs/cgroup", paths.get("", "/")),
            ("cpuset.cpus.effective",),
        )
    elif version == 1:
        dirs, names = (
            _candidate_dirs(_v1_mount(root, "cpuset"), paths.get("cpuset", "/")),
            ("cpuset.effective_cpus", "cpuset.cpus"),
        )
    else:
        dirs, names = [], ()
    for directory in dirs:
        for name in names:
            text = _read(directory / name)
            if text and text.strip():
                return parse_cpu_list(text)
    if root == Path("/") and hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return None


def _memory_limit(root: Path, version: int | None, paths: dict[str, str]) -> int | None:
    limits: list[int] = []
    if version == 2:
        found = [
            _read(d / "memory.max")
            for d in _candidate_dirs(root / "sys/fs/cgroup", paths.get("", "/"))
        ]
    elif version == 1:
        found = [
            _read(d / "memory.limit_in_bytes")
            for d in _candidate_dirs(_v1_mount(root, "memory"), paths.get("memory", "/"))
        ]
    else:
        found = []
    for text in found:
        limit = parse_memory_limit(text) if text and text.strip() else None
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


def describe(root: Path = Path("/"), environ: dict[str, str] | None = None) -> ContainerInfo | None:
    """Describe the container this process runs in; None when it runs in none.

    `root` and `environ` are for tests (a fake file tree, an environment); by default
    the real ones are read.
    """
    env = dict(os.environ) if environ is None else environ
    cgroup_text = _read(root / "proc/self/cgroup") or ""
    markers = [m for m in ("/.dockerenv", "/run/.containerenv") if (root / m[1:]).exists()]
    runtime = runtime_name(markers, cgroup_text, env)
    if runtime is None:
        return None
    version = _cgroup_version(root)
    paths = cgroup_paths(cgroup_text)
    online_text = _read(root / "sys/devices/system/cpu/online")
    online = parse_cpu_list(online_text) if online_text else []
    cpuset = _cpuset(root, version, paths)
    restricted = cpuset is not None and bool(online) and len(cpuset) < len(online)
    return {
        "in_container": True,
        "runtime": runtime,
        "hostname": socket.gethostname(),
        "container_id": container_id(cgroup_text, _read(root / "proc/self/mountinfo") or ""),
        "cgroup_version": version,
        "cpu_quota_cores": _cpu_quota(root, version, paths),
        "cpuset": cpuset if restricted else None,
        "online_cpus": len(online) or None,
        "memory_limit_bytes": _memory_limit(root, version, paths),
    }


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
