"""The container deployment: docker-compose.yml, the Dockerfile and the docker/ helpers.

No Docker engine is needed. The compose file is read by a real compose implementation,
Debian's `docker-compose` (1.29, `config` only parses, validates and interpolates); it is
skipped when missing, except under CI=true. Every service's command must name a real
entry point of the project: the module, script or console script it runs answers
`--help`, and that help knows every option the command passes. The health check and the
worker wrapper run for real against real processes on loopback.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.support import REPO_ROOT, free_port, mock_llm, require_tool

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.py"
WORKER = REPO_ROOT / "docker" / "locust_worker.py"
APP = "/app"  # WORKDIR of the image: the repository's root inside a container

SERVERS = ("mock-llm", "fastapi", "flask", "drf")
FRAMEWORKS = ("fastapi", "flask", "drf")
SERVICES = {*SERVERS, "locust-master", "locust-worker", "bench"}
PORTS = {"mock-llm": 8900, "fastapi": 8000, "flask": 8001, "drf": 8002}

# The variables the compose file reads; they are cleared so that its defaults are checked.
COMPOSE_VARIABLES = re.compile(
    r"^(TARGET_HOST|SCENARIO|LOCUST_\w+|BENCH_\w+|MOCK_\w+|SERVER_CPUS|\w+_WORKERS|"
    r"\w+_SERVER|\w+_CPUS|DRF_ALLOWED_HOSTS|PUBLISH_ADDRESS|METRICS|COMPOSE_\w+)$"
)


# --- the compose file, through the real parser --------------------------------------


def _compose_config(overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Return `docker-compose config` of the file, parsed, under these variables only."""
    require_tool("docker-compose")
    env = {k: v for k, v in os.environ.items() if not COMPOSE_VARIABLES.match(k)}
    env.update(overrides or {})
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.env"  # rather than a developer's .env beside the file
        empty.write_text("")
        args = ["docker-compose", "--project-directory", str(REPO_ROOT)]
        args += ["--env-file", str(empty), "-f", str(COMPOSE_FILE), "config"]
        check = subprocess.run([*args, "-q"], env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The services of the compose file with every variable at its default."""
    config = _compose_config()
    assert set(config["services"]) == SERVICES
    return dict(config["services"])


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def _command(service: dict[str, Any]) -> list[str]:
    """The argument vector the container runs; `sh -c "exec ..."` is unwrapped."""
    command = [str(arg) for arg in service["command"]]
    if command[:2] == ["sh", "-c"]:
        # `config` prints $$ (compose's escape for a literal $) back as it was written
        command = shlex.split(command[2].replace("$$", "$"))
        if command[0] == "exec":
            command = command[1:]
    return command


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _ports(service: dict[str, Any]) -> set[tuple[str, int, int]]:
    """(host address, published, target) of each port, as `config` prints either form."""
    ports = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.add((port.get("host_ip", "0.0.0.0"), int(port["published"]), port["target"]))
        else:  # "127.0.0.1:8000:8000/tcp"
            *address, published, target = port.split("/")[0].split(":")
            ports.add((address[0] if address else "0.0.0.0", int(published), int(target)))
    return ports


def test_the_compose_file_is_valid_for_the_real_parser(services: dict[str, Any]) -> None:
    version = subprocess.run(
        ["docker-compose", "version", "--short"], capture_output=True, text=True, timeout=30
    )
    assert version.returncode == 0 and version.stdout.strip()
    assert "version" not in yaml.safe_load(COMPOSE_FILE.read_text())  # the unversioned spec
    assert set(services) == SERVICES


def test_every_service_has_a_cpu_limit_and_a_health_check(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert float(service["cpus"]) > 0, name
        assert "deploy" not in service, f"{name}: cpus and deploy limits may disagree"
        check = service["healthcheck"]
        assert not check.get("disable"), name
        assert check["test"][:2] == ["CMD", "python"], name
        assert f"{APP}/docker/healthcheck.py" in check["test"], name


def test_the_frameworks_get_equal_resources(services: dict[str, dict[str, Any]]) -> None:
    limits = {float(services[name]["cpus"]) for name in FRAMEWORKS}
    assert limits == {1.0}
    # the server process counts are those `bench run` uses on one core
    workers = {name: _option(_command(services[name]), "--workers") for name in FRAMEWORKS}
    assert workers == {"fastapi": "1", "flask": "3", "drf": "3"}


def test_servers_listen_on_every_interface_and_check_their_own_port(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in SERVERS:
        command = _command(services[name])
        assert _option(command, "--host") == "0.0.0.0", name
        assert _option(command, "--port") == str(PORTS[name]), name
        assert _env(services[name])["HEALTHCHECK_PORT"] == str(PORTS[name]), name
    for name in FRAMEWORKS:
        assert _env(services[name])["LLM_BASE_URL"] == "http://mock-llm:8900/v1"
    assert "drf" in _env(services["drf"])["DJANGO_ALLOWED_HOSTS"].split(",")


def test_the_services_expose_metrics_for_the_scrape_configuration(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in FRAMEWORKS:
        assert _env(services[name])["METRICS"] == "1", name
    scrape = yaml.safe_load((REPO_ROOT / "docker" / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = {group["labels"]["service"]: group["targets"] for group in job["static_configs"]}
    assert targets == {name: [f"localhost:{PORTS[name]}"] for name in FRAMEWORKS}


def test_startup_order_waits_for_health(services: dict[str, dict[str, Any]]) -> None:
    for name in FRAMEWORKS:
        assert services[name]["depends_on"] == {"mock-llm": {"condition": "service_healthy"}}
    assert services["locust-master"]["depends_on"] == {
        server: {"condition": "service_healthy"} for server in SERVERS
    }
    # The headless run starts at once with the servers, so that its preflight refuses an
    # unwritable ./results before anything else; the preflight then waits for the
    # target's and the mock's health itself before it execs the run.
    bench = services["bench"]
    assert "depends_on" not in bench
    entrypoint = [str(arg) for arg in bench["entrypoint"]]
    assert entrypoint[:2] == ["python", f"{APP}/docker/preflight.py"]
    assert entrypoint[-1] == "--"
    waits = {entrypoint[i + 1] for i, arg in enumerate(entrypoint) if arg == "--wait"}
    assert waits == {"http://fastapi:8000/health", "http://mock-llm:8900/health"}
    assert _option(entrypoint, "--writable") == f"{APP}/results"
    # workers may run alone on another host: they wait for a master by themselves
    assert "depends_on" not in services["locust-worker"]


def test_the_results_volume(services: dict[str, dict[str, Any]]) -> None:
    for name in ("bench", "locust-master"):
        source, target, *_ = services[name]["volumes"][0].split(":")
        assert Path(source) == REPO_ROOT / "results" and target == f"{APP}/results", name
    assert _option(_command(services["bench"]), "--out").startswith(f"{APP}/results/")
    assert _option(services["bench"]["entrypoint"], "--shown-as") == "./results"


def test_ports_are_published_on_loopback_unless_opened(
    services: dict[str, dict[str, Any]],
) -> None:
    published = {name: _ports(service) for name, service in services.items()}
    assert all(address == "127.0.0.1" for ports in published.values() for address, _, _ in ports), (
        published
    )
    opened = _compose_config({"PUBLISH_ADDRESS": "0.0.0.0"})["services"]
    # what other hosts need: the master's port and the targets; never the UI or the mock
    assert _ports(opened["bench"]) == {("0.0.0.0", 5557, 5557)}
    assert _ports(opened["locust-master"]) == {
        ("127.0.0.1", 8089, 8089),
        ("0.0.0.0", 5557, 5557),
    }
    for name in FRAMEWORKS:
        assert _ports(opened[name]) == {("0.0.0.0", PORTS[name], PORTS[name])}, name
    assert _ports(opened["mock-llm"]) == {("127.0.0.1", 8900, 8900)}


def test_open_files_fit_under_a_low_engine_limit(services: dict[str, dict[str, Any]]) -> None:
    # Some hosts' dockerd has a hard limit of 20,000 open files; a container asking for
    # more does not start at all.
    for name, service in services.items():
        nofile = service["ulimits"]["nofile"]
        assert 10_000 <= int(nofile["soft"]) == int(nofile["hard"]) <= 20_000, name
    raised = _compose_config({"BENCH_NOFILE": "65536"})["services"]
    assert {int(s["ulimits"]["nofile"]["hard"]) for s in raised.values()} == {65536}


def test_containers_are_named_hosts(services: dict[str, dict[str, Any]]) -> None:
    # What a run records as its host is the container's name, not a random id; the
    # workers share the machine's name, by which a run counts the hosts that took part.
    for name in SERVICES - {"locust-worker"}:
        assert services[name]["hostname"] == name, name
    assert services["locust-worker"]["hostname"] == "docker-host"


def test_workers_scale(services: dict[str, dict[str, Any]]) -> None:
    worker = services["locust-worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["scale"] == 2
    command = _command(worker)
    assert "--worker" not in command  # the wrapper adds it
    assert _option(command, "--master-host") == "locust-master"
    assert set(_option(command, "-f").split(",")) == {
        f"bench/locustfiles/{scenario}.py" for scenario in ("hello", "complete", "stream")
    }
    assert worker["healthcheck"]["test"][-2:] == ["--process", "locust"]


def test_one_master_per_mode(services: dict[str, dict[str, Any]]) -> None:
    master, bench = services["locust-master"], services["bench"]
    assert master["profiles"] == ["interactive"] and bench["profiles"] == ["headless"]
    for name in SERVICES - {"locust-master", "bench"}:
        assert "profiles" not in services[name], name
    # the web UI, and the port of workers on other hosts
    assert {(published, target) for _, published, target in _ports(master)} == {
        (8089, 8089),
        (5557, 5557),
    }
    assert _option(_command(master), "--master-bind-port") == "5557"
    assert _option(_command(master), "--host") == "http://fastapi:8000"
    # the headless master answers to the same name
    assert bench["networks"]["default"]["aliases"] == ["locust-master"]
    assert {(published, target) for _, published, target in _ports(bench)} == {(5557, 5557)}


def test_the_headless_run_measures_the_deployment(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["bench"])
    assert command[:2] == ["bench", "run"]
    assert "--locust-master" in command
    assert _option(command, "--targets") == "fastapi-uvicorn"
    assert _option(command, "--target-url") == "http://fastapi:8000"
    assert _option(command, "--mock-url") == "http://mock-llm:8900"
    assert _option(command, "--expect-workers") == str(services["locust-worker"]["scale"])
    # workers in other containers connect to it: all interfaces, the published port
    assert _option(command, "--master-bind-host") == "0.0.0.0"
    assert _option(command, "--master-port") == "5557"


def test_one_variable_sets_each_shared_value() -> None:
    services = _compose_config(
        {
            "LOCUST_WORKERS": "4",
            "MOCK_TOKENS": "7",
            "MOCK_TTFT_MS": "150",
            "TARGET_HOST": "http://flask:8001",
            "BENCH_TARGET": "flask-gunicorn-gthread",
            "SERVER_CPUS": "2",
            "SCENARIO": "stream",
        }
    )["services"]
    bench, worker = _command(services["bench"]), services["locust-worker"]
    assert worker["scale"] == 4 and _option(bench, "--expect-workers") == "4"
    mock_env, worker_env = _env(services["mock-llm"]), _env(worker)
    assert mock_env["MOCK_LLM_OUTPUT_TOKENS"] == _option(bench, "--mock-tokens") == "7"
    assert worker_env["BENCH_MAX_TOKENS"] == worker_env["BENCH_EXPECTED_TOKENS"] == "7"
    assert mock_env["MOCK_LLM_TTFT_MS"] == _option(bench, "--mock-ttft-ms") == "150"
    assert _option(bench, "--target-url") == "http://flask:8001"
    master = _command(services["locust-master"])
    assert _option(master, "--host") == "http://flask:8001"
    assert _option(master, "-f") == "bench/locustfiles/stream.py"
    assert {float(services[name]["cpus"]) for name in FRAMEWORKS} == {2.0}


# --- every command names a real entry point -----------------------------------------


def _program(command: list[str]) -> list[str]:
    """The command's program and subcommands (up to its first option), run here."""
    if command[0] == "python":
        if command[1] == "-m":
            assert importlib.util.find_spec(command[2]) is not None, command[2]
            return [sys.executable, "-m", command[2]]
        script = REPO_ROOT / command[1]
        assert script.is_file(), script
        return [sys.executable, str(script)]
    scripts = importlib.metadata.entry_points(group="console_scripts", name=command[0])
    assert scripts, f"{command[0]} is no console script of the installed packages"
    executable = Path(sys.executable).with_name(command[0])
    assert executable.is_file(), executable
    subcommands = []
    for arg in command[1:]:
        if arg.startswith("-"):
            break
        subcommands.append(arg)
    return [str(executable), *subcommands]


def _help(program: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*program, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def helps(
    services: dict[str, dict[str, Any]],
) -> dict[str, tuple[list[str], subprocess.CompletedProcess[str]]]:
    """Each service's command, and its program's `--help`, run side by side."""
    commands = {name: _command(service) for name, service in services.items()}
    with ThreadPoolExecutor(len(commands)) as pool:
        futures = {name: pool.submit(_help, _program(cmd)) for name, cmd in commands.items()}
        return {name: (commands[name], futures[name].result()) for name in commands}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_command_names_a_real_entry_point(
    name: str, helps: dict[str, tuple[list[str], subprocess.CompletedProcess[str]]]
) -> None:
    command, done = helps[name]
    assert done.returncode == 0, f"{' '.join(command)} --help:\n{done.stderr[-2000:]}"
    options = {arg.split("=")[0] for arg in command if arg.startswith("-")}
    missing = {
        option
        for option in options
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", done.stdout)
    }
    assert not missing, f"{command[0]} --help does not know {sorted(missing)}"
    if "-f" in command:  # locustfiles, relative to the image's WORKDIR
        for locustfile in _option(command, "-f").split(","):
            assert (REPO_ROOT / locustfile).is_file(), locustfile


# --- the Dockerfile -----------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_installs_the_lock_and_runs_unprivileged() -> None:
    steps = _instructions()
    # the base is pinned by version and digest, and can be replaced with --build-arg
    assert steps[0][0] == "ARG" and steps[1] == ("FROM", "${BASE_IMAGE}")
    name, value = steps[0][1].split("=", 1)
    assert name == "BASE_IMAGE"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", value), value
    runs = [args for op, args in steps if op == "RUN"]
    assert any("pip install -r requirements.lock" in run for run in runs)
    assert any("pip install --no-deps ." in run for run in runs)
    copies = [args for op, args in steps if op == "COPY"]
    assert copies[0] == "requirements.lock ./"  # dependencies before the code: layer cache
    users = [(i, args) for i, (op, args) in enumerate(steps) if op == "USER"]
    assert users and users[-1][1] not in ("root", "0")
    assert all(i < users[-1][0] for i, (op, _) in enumerate(steps) if op == "RUN")
    # any ids: an existing group is reused, an existing uid shared (the live test builds
    # with 0:0 and 501:20)
    (user_step,) = [run for run in runs if "useradd" in run]
    assert "getent group" in user_step and "--non-unique" in user_step


def test_the_image_gets_the_runtime_lock_only() -> None:
    runtime = (REPO_ROOT / "requirements.lock").read_text()
    development = (REPO_ROOT / "requirements-dev.lock").read_text()
    pins = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)
    runtime_pins, dev_pins = dict(pins.findall(runtime)), dict(pins.findall(development))
    # (pytest is not among them: Locust itself requires it)
    for tool in ("mypy", "ruff", "hypothesis", "schemathesis", "django-stubs", "import-linter"):
        assert tool not in runtime_pins and tool in dev_pins, tool
    assert "uv" in runtime_pins  # bench builds package-variant environments with it
    # the development lock holds the runtime set at the same versions
    assert {k: dev_pins.get(k) for k in runtime_pins} == runtime_pins


def test_the_dockerfile_has_a_health_check() -> None:
    checks = [args for op, args in _instructions() if op == "HEALTHCHECK"]
    assert len(checks) == 1
    assert f'"{APP}/docker/healthcheck.py"' in checks[0]
    workdir = [args for op, args in _instructions() if op == "WORKDIR"]
    assert workdir == [APP]


def test_the_build_context_keeps_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "requirements.lock",
        "pyproject.toml",
        "README.md",
        "LICENSE",  # pyproject's license-files: `pip install .` needs it
        "docker/healthcheck.py",
        "docker/preflight.py",
        "docker/locust_worker.py",
        "bench/locustfiles/plugin.py",
        "fastapi_app/gunicorn_conf.py",
        "mock_llm/__main__.py",
    ]
    for path in needed:
        assert (REPO_ROOT / path).is_file(), path
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = [p for p in patterns if any(fnmatch(prefix, p) for prefix in prefixes)]
        assert not excluded, f"{path} is excluded from the build by {excluded}"
    assert ".venv" in patterns and ".git" in patterns


# --- the health check, for real -----------------------------------------------------


def _healthcheck(*args: str, env: dict[str, str] | None = None) -> int:
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(HEALTHCHECK), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=30,
    )
    return done.returncode


def test_the_health_check_against_a_running_service() -> None:
    with mock_llm() as base:
        port = base.split(":")[2].split("/")[0]
        assert _healthcheck(env={"HEALTHCHECK_PORT": port}) == 0
        assert _healthcheck(f"http://127.0.0.1:{port}/health") == 0
        # a path that is not 200 is not healthy
        assert _healthcheck(env={"HEALTHCHECK_PORT": port, "HEALTHCHECK_PATH": "/nope"}) == 1
    assert _healthcheck(env={"HEALTHCHECK_PORT": str(free_port())}) == 1
    assert _healthcheck("--bogus") == 1


def _load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", HEALTHCHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_process_names() -> None:
    names = _load_healthcheck().program_names
    assert "locust" in names(["/usr/local/bin/python", "-m", "locust", "--worker"])
    assert "locust" in names(["/usr/local/bin/python3.11", "/usr/local/bin/locust", "-f", "x"])
    assert "bench" in names(["/usr/local/bin/python", "-I", "/usr/local/bin/bench", "run"])
    assert "locust" in names(["locust", "--worker"])
    assert "locust" not in names(["python", "docker/locust_worker.py", "--master-host", "locust"])
    assert "locust" not in names(["python", "-c", "locust"])


def test_the_process_health_check(tmp_path: Path) -> None:
    module = f"probe_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{module}.py").write_text("import time\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while _healthcheck("--process", module) != 0:
            assert time.monotonic() < deadline, f"no process {module} found"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    assert _healthcheck("--process", module) == 1


# --- the worker wrapper, against real Locust masters --------------------------------


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"message": "Hello"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hello_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_worker_serves_one_master_after_another(hello_server: str, tmp_path: Path) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "-f",
            "bench/locustfiles/hello.py,bench/locustfiles/complete.py,bench/locustfiles/stream.py",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        for point in (1, 2):  # as `bench run` does: one master per point
            result = tmp_path / f"point{point}.json"
            master = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    "bench/locustfiles/hello.py",
                    "--master",
                    "--master-bind-host",
                    "127.0.0.1",
                    "--master-bind-port",
                    str(port),
                    "--expect-workers",
                    "1",
                    "--expect-workers-max-wait",
                    "20",
                    "--headless",
                    "-u",
                    "2",
                    "-r",
                    "2",
                    "--run-time",
                    "1s",
                    "--host",
                    hello_server,
                    "--loglevel",
                    "WARNING",
                ],
                cwd=REPO_ROOT,
                env={**os.environ, "BENCH_RESULT_FILE": str(result)},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert master.returncode == 0, master.stderr[-2000:]
            document = json.loads(result.read_text())
            assert document["processes"] == 1, f"point {point}"
            assert document["requests"]["/hello"]["count"] > 0, f"point {point}"
        assert worker.poll() is None, "the wrapper ended with its worker"
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        try:
            code = worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            raise
        finally:
            stderr = worker.stderr.read().decode(errors="replace") if worker.stderr else ""
            if worker.stderr:
                worker.stderr.close()
    assert code in (0, 1, 128 + signal.SIGTERM), stderr[-2000:]  # Locust's, or killed
    assert "starting again" in stderr


@pytest.mark.process
def test_a_worker_waits_quietly_for_a_master_that_does_not_exist_yet() -> None:
    worker = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "-f",
            "bench/locustfiles/hello.py",
            "--master-host",
            "no-master-yet.invalid",  # RFC 6761: never resolves
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(3)
    os.kill(worker.pid, signal.SIGTERM)
    try:
        _, raw = worker.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate()
        raise
    stderr, code = raw.decode(errors="replace"), worker.returncode
    assert code == 0, stderr
    # one line that says what it waits for, and no Locust at all until the name resolves
    assert stderr.count("waiting for the master no-master-yet.invalid") == 1, stderr
    assert "Error resolving" not in stderr and "starting again" not in stderr, stderr


# --- the headless preflight, for real ------------------------------------------------

PREFLIGHT = REPO_ROOT / "docker" / "preflight.py"


def _preflight(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PREFLIGHT), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.process
def test_the_preflight_refuses_an_unwritable_results_folder_in_one_line(tmp_path: Path) -> None:
    # root writes into any folder: as root, a folder of /proc stands for one it may not
    # write (the live test, tests/deploy/test_docker_live.py, has the real case: a
    # root-owned ./results and the image's uid 1000)
    results = Path("/proc/self") if os.getuid() == 0 else tmp_path / "results"
    if os.getuid() != 0:
        results.mkdir(mode=0o555)
    args = ["--writable", str(results), "--shown-as", "./results", "--", "true"]
    started = time.monotonic()
    done = _preflight(*args)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 10
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("bench: ./results belongs to uid ")
    assert "chown" in lines[0] and "BENCH_UID=$(id -u)" in lines[0]


@pytest.mark.process
def test_the_preflight_waits_for_health_then_becomes_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with mock_llm() as base:
        health = base.removesuffix("/v1") + "/health"
        done = _preflight(
            *("--writable", str(tmp_path), "--wait", health, "--"),
            *(
                sys.executable,
                "-c",
                f"import pathlib, os; pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))",
            ),
        )
    assert done.returncode == 0, done.stderr
    assert marker.read_text()  # the command ran (in the preflight's own process: exec)
    late = _preflight(
        "--wait", f"http://127.0.0.1:{free_port()}/health", "--timeout", "1", "--", "true"
    )
    assert late.returncode == 1
    assert "did not answer within 1 s" in late.stderr


def test_nothing_local_that_git_ignores_enters_the_build_context() -> None:
    # A local environment or cache copied by `COPY . .` (.venv-variants alone is hundreds
    # of MB) would bloat the image and put the host's state in it.
    ignored = {
        line.strip().strip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    local = [
        line.strip().strip("/")
        for line in (REPO_ROOT / ".gitignore").read_text().splitlines()
        if line.startswith(".") and line.strip().endswith("/")
    ]
    assert local and [name for name in local if name not in ignored] == []
