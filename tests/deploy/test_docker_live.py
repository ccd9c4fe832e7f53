"""The compose stack for real, on a real Docker engine: `make test-docker`.

    make test-docker        # = scripts/docker-engine.sh start, then this file

Runs only with BENCH_DOCKER_TEST=1 (which `make test-docker` sets): it builds the image
and starts containers for a few minutes, so plain `make test` skips it. In order:

1. the engine (started by scripts/docker-engine.sh when it can be; where no engine can
   run, every test is skipped with that script's one line) and the base image (the
   Dockerfile's pinned one, or the script's local stand-in where the registry cannot be
   reached), then the image, timed and weighed;
2. the image's user for ids that exist in the base already (0:0 as root, 501:20 as a Mac);
3. the headless profile with an unwritable results folder: refused with one line, exit 2;
4. the interactive profile: every container healthy, the workers attached to the master,
   one request to each service, ports on loopback, what each container records;
5. the headless profile with the shortest settings: exit 0 and a valid results.json;
   then with a broken target (the name of another service): a non-zero exit;
6. nothing of the test's compose project left: no container, network or volume.

Each profile runs as its own compose project (a unique name), with its own results
folder, so that a developer's running stack and ./results are never touched. The
figures (build time, image size, time to healthy, the headless point) are printed at the
end, under "docker figures".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bench.cli.args import EXIT_SKIPPED
from tests.deploy.conftest import FIGURES
from tests.deploy.test_compose import COMPOSE_VARIABLES
from tests.support import REPO_ROOT

pytestmark = [
    pytest.mark.process,
    pytest.mark.slow,
    # the first test also builds the engine's stand-in base and the image (minutes)
    pytest.mark.timeout(1500),
    pytest.mark.skipif(
        not os.environ.get("BENCH_DOCKER_TEST"),
        reason="the live Docker test runs with `make test-docker`",
    ),
]

IMAGE = "ai-service-bench:test"
ENGINE_SCRIPT = REPO_ROOT / "scripts" / "docker-engine.sh"
SERVICES = {"mock-llm": 8900, "fastapi": 8000, "flask": 8001, "drf": 8002}
WORKERS = 2
HEADLESS = {  # the shortest run that still measures: one point, 2 s after 1 s of warm-up
    "BENCH_TARGET": "fastapi-uvicorn",
    "TARGET_HOST": "http://fastapi:8000",
    "BENCH_SCENARIOS": "complete",
    "BENCH_USERS": "10",
    "BENCH_DURATION": "2",
    "BENCH_WARMUP": "1",
    "BENCH_REPEAT": "1",
}


def _run(
    args: list[str], timeout: float, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


def _figure(request: pytest.FixtureRequest, name: str, value: str) -> None:
    request.config.stash[FIGURES][name] = value


# --- the engine, the base, the image -------------------------------------------------


@pytest.fixture(scope="module")
def engine(request: pytest.FixtureRequest) -> None:
    """A Docker engine that answers; skip with the script's one line where none can run."""
    started = time.monotonic()
    done = _run(["bash", str(ENGINE_SCRIPT), "start"], timeout=600, check=False)
    if done.returncode == 3:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, done.stdout + done.stderr
    _figure(request, "engine ready", f"{time.monotonic() - started:.0f} s")


@pytest.fixture(scope="module")
def compose(engine: None, request: pytest.FixtureRequest) -> list[str]:
    """The compose command: v2 (`docker compose`) where the plugin exists, else v1.29."""
    if _run(["docker", "compose", "version"], timeout=30, check=False).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.fail("neither `docker compose` nor `docker-compose`: make system-deps")
    version = _run([*command, "version", "--short"], timeout=30).stdout.strip()
    _figure(request, "compose", f"{' '.join(command)} {version}")
    return command


def _docker_build_env() -> dict[str, str]:
    """The classic builder where the CLI has no buildx plugin (Docker 28 then refuses)."""
    env = dict(os.environ)
    if _run(["docker", "buildx", "version"], timeout=30, check=False).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"
    return env


@pytest.fixture(scope="module")
def base(engine: None, request: pytest.FixtureRequest) -> str:
    started = time.monotonic()
    done = _run(["bash", str(ENGINE_SCRIPT), "base"], timeout=1200)
    reference = done.stdout.strip().splitlines()[-1]
    _figure(request, "base image", f"{reference} ({time.monotonic() - started:.0f} s)")
    return reference


@pytest.fixture(scope="module")
def image(base: str, request: pytest.FixtureRequest) -> str:
    started = time.monotonic()
    _run(
        ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, "."],
        timeout=1200,
        env=_docker_build_env(),
    )
    size = int(_run(["docker", "image", "inspect", IMAGE, "-f", "{{.Size}}"], 60).stdout)
    base_size = int(_run(["docker", "image", "inspect", base, "-f", "{{.Size}}"], 60).stdout)
    _figure(request, "image build", f"{time.monotonic() - started:.0f} s")
    _figure(request, "image size", f"{size / 1e6:.0f} MB (base {base_size / 1e6:.0f} MB)")
    return IMAGE


def test_the_image_holds_the_runtime_set_only(image: str) -> None:
    done = _run(["docker", "run", "--rm", image, "pip", "list", "--format", "json"], 120)
    installed = {package["name"].lower() for package in json.loads(done.stdout)}
    assert {"locust", "fastapi", "flask", "django", "uv"} <= installed
    assert not installed & {"mypy", "ruff", "hypothesis", "schemathesis", "django-stubs"}


@pytest.mark.parametrize(("uid", "gid"), [(0, 0), (501, 20)], ids=["root", "mac"])
def test_any_ids_build(base: str, image: str, uid: int, gid: int) -> None:
    # GIDs 0 and 20 exist in the base already (root, dialout): they are reused
    tag = f"{IMAGE}-ids-{uid}-{gid}"
    args = ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base}"]
    args += ["--build-arg", f"BENCH_UID={uid}", "--build-arg", f"BENCH_GID={gid}", "-t", tag, "."]
    try:
        _run(args, timeout=600, env=_docker_build_env())
        ids = _run(["docker", "run", "--rm", tag, "sh", "-c", "id -u; id -g"], 60).stdout
        assert ids.split() == [str(uid), str(gid)]
        owner = _run(["docker", "run", "--rm", tag, "stat", "-c", "%u:%g", "/app/results"], 60)
        assert owner.stdout.strip() == f"{uid}:{gid}"
    finally:
        _run(["docker", "image", "rm", "-f", tag], timeout=60, check=False)


# --- compose projects ----------------------------------------------------------------


class Project:
    """One compose project of the test: unique name, own results folder, own variables."""

    def __init__(self, compose: list[str], results: Path, variables: dict[str, str]) -> None:
        self.name = f"aisb-test-{uuid.uuid4().hex[:8]}"
        self.compose = compose
        self.results = results
        env = {k: v for k, v in os.environ.items() if not COMPOSE_VARIABLES.match(k)}
        env.update(
            {
                "COMPOSE_PROJECT_NAME": self.name,
                "BENCH_IMAGE": IMAGE,
                "BENCH_RESULTS": str(results),
                "LOCUST_WORKERS": str(WORKERS),
            }
        )
        env.update(variables)
        self.env = env
        descriptor, self._env_file = tempfile.mkstemp(suffix=".env")
        os.close(descriptor)  # empty: no developer's .env applies

    def __call__(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [*self.compose, "--project-directory", str(REPO_ROOT)]
        command += ["--env-file", self._env_file, "-f", "docker-compose.yml", *args]
        return _run(command, timeout=timeout, env=self.env, check=check)

    def containers(self) -> dict[str, str]:
        """Container name -> status of every container of the project (running or not)."""
        done = _run(
            [
                *("docker", "ps", "-a", "--format", "{{.Names}}\t{{.Status}}"),
                *("--filter", f"label=com.docker.compose.project={self.name}"),
            ],
            timeout=60,
        )
        return dict(line.split("\t", 1) for line in done.stdout.splitlines() if line)

    def leftovers(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.name}"
        found = []
        for kind in ("container", "network", "volume"):
            listing = ["docker", kind, "ls", "-q", "--filter", label]
            if kind == "container":
                listing.insert(3, "-a")
            found += [f"{kind} {x}" for x in _run(listing, timeout=60).stdout.split()]
        return found

    def down(self) -> None:
        self("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=300)
        os.unlink(self._env_file)
        leftovers = self.leftovers()
        assert not leftovers, f"left behind: {leftovers}"


MakeProject = Callable[..., Project]


@pytest.fixture
def project(compose: list[str], image: str, tmp_path: Path) -> Iterator[MakeProject]:
    """Make projects with `project(results_writable, **variables)`; all torn down after."""
    made: list[Project] = []

    def make(results_writable: bool, **variables: str) -> Project:
        results = tmp_path / f"results-{len(made)}"
        results.mkdir()
        tmp_path.chmod(0o755)
        if results_writable:
            if os.getuid() == 0:
                os.chown(results, 1000, 1000)  # the image's user
            else:
                results.chmod(0o777)
        else:
            results.chmod(0o755)  # the owner's (root's in CI), not the image's user's
        made.append(Project(compose, results, variables))
        return made[-1]

    yield make
    for each in made:
        each.down()


def test_an_unwritable_results_folder_is_refused_at_once(
    project: MakeProject, request: pytest.FixtureRequest
) -> None:
    if os.getuid() == 1000:
        pytest.skip("the image's user is this user: any folder of ours is writable to it")
    stack = project(results_writable=False, **HEADLESS)
    started = time.monotonic()
    done = stack("--profile", "headless", "up", "--no-build", "--exit-code-from", "bench",
                 timeout=300, check=False)  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    refusals = [line for line in done.stdout.splitlines() if "bench: " in line]
    assert len(refusals) == 1, done.stdout[-3000:]
    assert f"{stack.results} belongs to uid" in refusals[0] and "chown" in refusals[0]
    assert "Traceback" not in done.stdout
    _figure(request, "unwritable results refused", f"exit 2 after {elapsed:.0f} s")


# --- the interactive profile ---------------------------------------------------------


def _wait_healthy(stack: Project, expected: int, timeout_s: float) -> None:
    started = time.monotonic()
    while True:
        statuses = stack.containers()
        healthy = [name for name, status in statuses.items() if "(healthy)" in status]
        if len(statuses) == expected and len(healthy) == expected:
            return
        if time.monotonic() - started > timeout_s:
            logs = stack("logs", "--tail", "20", check=False)
            pytest.fail(f"not healthy in {timeout_s} s: {statuses}\n{logs.stdout[-4000:]}")
        time.sleep(1)


def test_the_interactive_profile(project: MakeProject, request: pytest.FixtureRequest) -> None:
    stack = project(results_writable=True)
    started = time.monotonic()
    stack("--profile", "interactive", "up", "-d", "--no-build", timeout=300)
    _wait_healthy(stack, expected=len(SERVICES) + 1 + WORKERS, timeout_s=240)
    _figure(request, "interactive: 7 containers healthy", f"{time.monotonic() - started:.0f} s")

    # the workers attach to the master (its web UI says how many)
    deadline = time.monotonic() + 60
    while True:
        stats = httpx.get("http://127.0.0.1:8089/stats/requests", timeout=5).json()
        if stats.get("worker_count") == WORKERS:
            break
        assert time.monotonic() < deadline, f"workers attached: {stats.get('worker_count')}"
        time.sleep(1)

    # one request to each service, through its published port
    for name, port in SERVICES.items():
        if name == "mock-llm":
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
            continue
        response = httpx.post(
            f"http://127.0.0.1:{port}/complete",
            json={"prompt": "hello", "max_tokens": 5},
            timeout=30,
        )
        assert response.status_code == 200, f"{name}: {response.text[:500]}"
        assert response.json()["tokens_used"] > 0, name

    containers = stack.containers()
    for name in (*SERVICES, "locust-master"):
        (container,) = [c for c in containers if re.search(rf"[-_]{name}[-_]1$", c)]
        # published on loopback only (PUBLISH_ADDRESS unset)
        ports = _run(["docker", "port", container], timeout=60).stdout.split()
        assert ports and all(p.startswith("127.0.0.1:") for p in ports[2::3]), ports
        # what a run in this container records: its name, its real CPU quota
        described = _run(
            ["docker", "exec", container, "python", "-m", "bench.running.containers"], 60
        )
        info = json.loads(described.stdout)
        assert info["hostname"] == name, info
        assert info["cpu_quota_cores"] == 1.0, info
        nofile = _run(["docker", "exec", container, "sh", "-c", "ulimit -n"], timeout=60)
        assert int(nofile.stdout) == 16384

    workers = [c for c in containers if "locust-worker" in c]
    assert len(workers) == WORKERS
    logs = stack("logs", "locust-worker", timeout=60).stdout
    assert "Error resolving" not in logs


# --- the headless profile ------------------------------------------------------------


def test_the_headless_profile(project: MakeProject, request: pytest.FixtureRequest) -> None:
    stack = project(results_writable=True, BENCH_RUN_ID="live", **HEADLESS)
    started = time.monotonic()
    done = stack("--profile", "headless", "up", "--no-build", "--exit-code-from", "bench",
                 timeout=600, check=False)  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    results = json.loads((stack.results / "live" / "results.json").read_text())
    (point,) = results["points"]
    assert point["target"] == "fastapi-uvicorn" and point["scenario"] == "complete"
    assert point["valid"] is True, point["warnings"]
    assert point["requests"] > 0 and not point["errors"]
    assert point["generator_processes"] == WORKERS, point["generator_processes"]
    _figure(request, "headless run (up to exit)", f"{elapsed:.0f} s, exit 0")
    latency, generator = point["latency_ms"], point["generator_processes"]
    _figure(
        request,
        "headless point",
        f"{point['target']} {point['scenario']} {point['load']['users']} users: "
        f"{point['throughput_rps']:.1f} req/s, p50 {latency['p50']:.0f} ms, "
        f"p99 {latency['p99']:.0f} ms, efficiency {point['efficiency']:.0%}, "
        f"{point['requests']} requests, {generator} generator processes, "
        f"warnings {point['warnings']}",
    )


def test_a_broken_target_fails_the_headless_run(project: MakeProject) -> None:
    # BENCH_TARGET names Flask's target while TARGET_HOST serves FastAPI: the contract
    # check before the run refuses it, and the target is skipped
    broken = {**HEADLESS, "BENCH_TARGET": "flask-gunicorn-gthread"}
    stack = project(results_writable=True, BENCH_RUN_ID="broken", **broken)
    done = stack("--profile", "headless", "up", "--no-build", "--exit-code-from", "bench",
                 timeout=600, check=False)  # fmt: skip
    assert done.returncode == EXIT_SKIPPED, done.stdout[-3000:]
