"""bench.running.containers: the parsers on the kernel's own texts, and describe() on fake trees.

The fixture texts are what Docker 20.10 (cgroup v1) and Docker 24 (cgroup v2, private
cgroup namespace) show inside a container started with `--cpus 1.5 --cpuset-cpus 2,3
--memory 512m`; the live compose test (tests/deploy/test_docker_live.py) checks the
same on a real engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.running.containers import (
    cgroup_paths,
    container_id,
    describe,
    parse_cfs,
    parse_cpu_list,
    parse_cpu_max,
    parse_memory_limit,
    runtime_name,
)
from tests.support import REPO_ROOT

ID = "3f4e5c2a9b8d7e6f" + "0123456789abcdef" * 3  # 64 hex digits

V1_CGROUP = f"""12:cpuset:/docker/{ID}
11:memory:/docker/{ID}
4:cpu,cpuacct:/docker/{ID}
1:name=systemd:/docker/{ID}
0::/system.slice/containerd.service
"""

V2_CGROUP = "0::/\n"

DOCKER_DIR = f"/var/lib/docker/containers/{ID}"
V2_MOUNTINFO = f"""\
722 690 0:48 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
735 722 8:1 {DOCKER_DIR}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
736 722 8:1 {DOCKER_DIR}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
"""

HOST_CGROUP_V2 = "0::/user.slice/user-1000.slice/session-3.scope\n"


# --- the parsers ---------------------------------------------------------------------


def test_cpu_max() -> None:
    assert parse_cpu_max("150000 100000\n") == 1.5
    assert parse_cpu_max("100000 100000") == 1.0
    assert parse_cpu_max("max 100000\n") is None
    assert parse_cpu_max("") is None


def test_cfs_quota() -> None:
    assert parse_cfs("50000\n", "100000\n") == 0.5
    assert parse_cfs("-1\n", "100000\n") is None


def test_cpu_lists() -> None:
    assert parse_cpu_list("0-3,6,8-9\n") == [0, 1, 2, 3, 6, 8, 9]
    assert parse_cpu_list("2,3") == [2, 3]
    assert parse_cpu_list("5") == [5]
    assert parse_cpu_list("\n") == []


def test_memory_limits() -> None:
    assert parse_memory_limit("536870912\n") == 512 * 1024 * 1024
    assert parse_memory_limit("max\n") is None
    assert parse_memory_limit("9223372036854771712\n") is None  # v1's "unlimited"


def test_cgroup_paths() -> None:
    v1 = cgroup_paths(V1_CGROUP)
    assert v1["cpu"] == v1["cpuacct"] == v1["cpuset"] == f"/docker/{ID}"
    assert v1[""] == "/system.slice/containerd.service"
    assert cgroup_paths(V2_CGROUP) == {"": "/"}


def test_container_ids() -> None:
    assert container_id(V1_CGROUP) == ID[:12]
    assert container_id(V2_CGROUP, V2_MOUNTINFO) == ID[:12]
    kubepods = f"0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope\n"
    assert container_id(kubepods) == ID[:12]
    assert container_id(HOST_CGROUP_V2, "") is None


def test_runtimes() -> None:
    assert runtime_name(["/.dockerenv"], V2_CGROUP, {}) == "docker"
    assert runtime_name([], V1_CGROUP, {}) == "docker"
    assert runtime_name(["/run/.containerenv"], V2_CGROUP, {"container": "podman"}) == "podman"
    assert runtime_name([], V2_CGROUP, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) == "kubernetes"
    assert runtime_name([], "0::/machine.slice/lxc-x\n", {}) == "lxc"
    assert runtime_name([], V2_CGROUP, {"container": "systemd-nspawn"}) == "systemd-nspawn"
    assert runtime_name([], HOST_CGROUP_V2, {}) is None


# --- describe() on fake file trees ---------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_docker_on_cgroup_v2(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            ".dockerenv": "",
            "proc/self/cgroup": V2_CGROUP,
            "proc/self/mountinfo": V2_MOUNTINFO,
            "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
            "sys/fs/cgroup/cpu.max": "150000 100000\n",
            "sys/fs/cgroup/cpuset.cpus.effective": "2-3\n",
            "sys/fs/cgroup/memory.max": "536870912\n",
            "sys/devices/system/cpu/online": "0-7\n",
        },
    )
    info = describe(root, environ={})
    assert info is not None
    assert info["in_container"] is True
    assert info["runtime"] == "docker"
    assert info["container_id"] == ID[:12]
    assert info["cgroup_version"] == 2
    assert info["cpu_quota_cores"] == 1.5
    assert info["cpuset"] == [2, 3]
    assert info["online_cpus"] == 8
    assert info["memory_limit_bytes"] == 512 * 1024 * 1024
    assert isinstance(info["hostname"], str) and info["hostname"]
    json.dumps(info)  # it goes into results.json as it is


def test_docker_on_cgroup_v1_with_host_cgroup_paths(tmp_path: Path) -> None:
    # Without a cgroup namespace the container's cgroup is a subdirectory named after it;
    # the parent (the host's root) has no quota.
    cpu = f"sys/fs/cgroup/cpu,cpuacct/docker/{ID}"
    root = _tree(
        tmp_path,
        {
            "proc/self/cgroup": V1_CGROUP,
            "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            f"{cpu}/cpu.cfs_quota_us": "100000\n",
            f"{cpu}/cpu.cfs_period_us": "100000\n",
            "sys/fs/cgroup/cpuset/cpuset.cpus": "0-3\n",
            f"sys/fs/cgroup/cpuset/docker/{ID}/cpuset.cpus": "0-3\n",
            f"sys/fs/cgroup/memory/docker/{ID}/memory.limit_in_bytes": "9223372036854771712\n",
            "sys/devices/system/cpu/online": "0-3\n",
        },
    )
    info = describe(root, environ={})
    assert info is not None
    assert info["runtime"] == "docker" and info["cgroup_version"] == 1
    assert info["container_id"] == ID[:12]
    assert info["cpu_quota_cores"] == 1.0
    assert info["cpuset"] is None  # every online CPU: not restricted
    assert info["memory_limit_bytes"] is None


def test_no_quota_no_limits(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            ".dockerenv": "",
            "proc/self/cgroup": V2_CGROUP,
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            "sys/fs/cgroup/cpu.max": "max 100000\n",
            "sys/fs/cgroup/memory.max": "max\n",
            "sys/devices/system/cpu/online": "0-1\n",
        },
    )
    info = describe(root, environ={})
    assert info is not None
    assert info["cpu_quota_cores"] is None
    assert info["cpuset"] is None
    assert info["memory_limit_bytes"] is None
    assert info["container_id"] is None


def test_outside_a_container(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "proc/self/cgroup": HOST_CGROUP_V2,
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            "sys/devices/system/cpu/online": "0-7\n",
        },
    )
    assert describe(root, environ={}) is None


@pytest.mark.process
def test_the_module_prints_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.running.containers"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    info = json.loads(done.stdout)
    assert info is None or info["in_container"] is True
