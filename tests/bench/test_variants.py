"""Package variants: specs with @pins, their environments, and a run that uses one."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.cli import build_parser
from bench.cli.run import plan_from_args
from bench.results import store
from bench.running import variants
from bench.running.launch import Launcher, Where
from bench.running.plan import MockSettings
from bench.running.targets import UnknownTarget, parse, split_specs, with_client
from bench.running.upstream import Upstream
from tests.bench.runs import bench, free_ports
from tests.support import REPO_ROOT


def test_a_spec_pins_packages_after_its_client_and_counts() -> None:
    target = parse("fastapi-uvicorn[httpx]{workers=2}@pydantic==2.9.*,starlette>=0.41,<0.42")
    assert target.pins == ("pydantic==2.9.*", "starlette>=0.41,<0.42")
    assert target.name == "fastapi-uvicorn[httpx]{workers=2}@pydantic==2.9.*,starlette>=0.41,<0.42"
    assert target.workers == 2 and dict(target.env)["LLM_CLIENT"] == "httpx"
    assert parse(target.name) == target  # names round-trip through results files
    assert parse("drf-gunicorn-gthread").pins == ()
    # Another client keeps the counts and the pins, and still parses back.
    other = with_client(target, "aiohttp")
    assert other.name == "fastapi-uvicorn[aiohttp]{workers=2}@pydantic==2.9.*,starlette>=0.41,<0.42"
    assert parse(other.name).pins == target.pins


@pytest.mark.parametrize(
    "spec", ["fastapi-uvicorn@django", "fastapi-uvicorn@django==5;rm", "fastapi-uvicorn@==5.1"]
)
def test_a_pin_without_a_version_or_with_junk_is_refused(spec: str) -> None:
    with pytest.raises(UnknownTarget, match="pins are package requirements with versions"):
        parse(spec)


def test_a_list_of_specs_keeps_the_commas_of_counts_and_pins() -> None:
    text = "a{workers=2,threads=4},b@pydantic==2.9.*,starlette==0.41.*,c,d@django>=5.0,<5.2"
    assert split_specs(text) == [
        "a{workers=2,threads=4}",
        "b@pydantic==2.9.*,starlette==0.41.*",
        "c",
        "d@django>=5.0,<5.2",
    ]
    args = build_parser().parse_args(
        ["run", "--targets", "drf-gunicorn-gthread,drf-gunicorn-gthread@django==5.1.*"]
    )
    plan = plan_from_args(args)
    assert plan.targets == ["drf-gunicorn-gthread", "drf-gunicorn-gthread@django==5.1.*"]


def test_the_requirements_replace_the_projects_own_range_of_a_pinned_package(
    tmp_path: Path,
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["uvicorn[standard]", "django>=5.2,<5.3", "Pydantic"]\n'
    )
    wanted = variants.project_requirements(["django==5.1.*", "pydantic==2.9.*"], pyproject)
    assert wanted == ["uvicorn[standard]", "django==5.1.*", "pydantic==2.9.*"]


def test_the_cache_key_follows_the_pins_and_the_lock() -> None:
    key = variants.key(["django==5.1.*"], "lock", ["a"])
    assert key == variants.key(["django==5.1.*"], "lock", ["a"])
    assert key != variants.key(["django==5.0.*"], "lock", ["a"])
    assert key != variants.key(["django==5.1.*"], "other lock", ["a"])


def test_uvs_reason_becomes_one_line() -> None:
    stderr = (
        "  \N{MULTIPLICATION SIGN} No solution found when resolving dependencies:\n"
        "  ╰─▶ Because there is no version of django==9.9.* and you require\n"
        "      django==9.9.*, we can conclude that your requirements are unsatisfiable.\n"
    )
    assert variants.one_line(stderr) == (
        "No solution found when resolving dependencies: Because there is no version of "
        "django==9.9.* and you require django==9.9.*, we can conclude that your "
        "requirements are unsatisfiable."
    )
    quiet = "error: No solution found\n  cause: Because only django<=6.1.3 is available.\n"
    assert variants.one_line(quiet) == "Because only django<=6.1.3 is available."


class _Supervisor:
    def __init__(self) -> None:
        self.started: list[tuple[list[str], str | None]] = []

    def start(self, args: Any, cpus: Any, env: Any, log: Any, python: Any = None) -> Any:
        self.started.append((list(args), python))
        raise RuntimeError("not started in this test")


def test_the_launcher_starts_a_variant_with_its_own_interpreter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = variants.Variant(("django==5.1.*",), tmp_path / "venv", {}, {})
    monkeypatch.setattr(variants, "ensure", lambda pins: fake)
    monkeypatch.setattr("bench.running.launch.wait_port_free", lambda port: True)
    supervisor = _Supervisor()
    mock = Upstream("mock", "http://127.0.0.1:2", "http://127.0.0.1:2/v1")
    where = Where(tmp_path, 1, 2, [0], [1], mock)
    launcher = Launcher(supervisor, where, MockSettings().tokens)  # type: ignore[arg-type]
    for spec in ("drf-gunicorn-gthread@django==5.1.*", "drf-gunicorn-gthread"):
        target = parse(spec)
        with pytest.raises(RuntimeError):
            launcher._start(target, target.counts(1, None, None), tmp_path / "log")
    assert [python for _, python in supervisor.started] == [str(tmp_path / "venv/bin/python"), None]
    assert supervisor.started[0][0][:2] == ["-m", "drf_app"]


@pytest.mark.process
def test_a_run_holds_one_target_at_two_package_versions(tmp_path: Path) -> None:
    """End to end: the variant's environment is built (uv's cache or the registry)."""
    out = tmp_path / "run"
    specs = "flask-gunicorn-gthread,flask-gunicorn-gthread@flask==3.0.*"
    done = subprocess.run(
        bench("run", "--out", str(out), *free_ports(), "--no-summary", "--targets", specs,
              "--scenarios", "hello", "--users", "5", "--duration", "1", "--warmup", "1"),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = store.load(out)
    by_target = {p.target: p for p in run.points}
    pinned = by_target["flask-gunicorn-gthread@flask==3.0.*"]
    assert pinned.pins == ("flask==3.0.*",) and pinned.ok and pinned.requests > 0
    assert pinned.packages is not None and str(pinned.packages["flask"]).startswith("3.0.")
    plain = by_target["flask-gunicorn-gthread"]
    assert plain.pins == () and plain.packages is None
    assert str(run.environment.packages["flask"]).startswith("3.1.")
    compared = subprocess.run(
        bench("compare", str(out), "--format", "json"),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    assert '"subject": "Flask 3.1.' in compared.stdout and "3.0." in compared.stdout


@pytest.mark.process
def test_a_spec_that_does_not_resolve_is_refused_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        bench("run", "--out", str(tmp_path / "run"), *free_ports(), "--targets",
              "flask-gunicorn-gthread@flask==0.0.*", "--scenarios", "hello", "--users", "5"),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("bench run: flask-gunicorn-gthread@flask==0.0.*: ")
    assert "flask==0.0.*" in done.stderr and not (tmp_path / "run" / "results.json").exists()
