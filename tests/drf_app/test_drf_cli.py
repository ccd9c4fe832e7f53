"""`python -m drf_app`: the server command lines it would exec, and its flag errors."""

from __future__ import annotations

import os

import pytest

from drf_app.__main__ import GUNICORN_CONF, main


def dry_run(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--dry-run", *flags])
    assert exit_info.value.code == 0
    return capsys.readouterr().out.strip()


def test_default_is_gunicorn_gthread_with_sync_views(capsys: pytest.CaptureFixture[str]) -> None:
    line = dry_run(capsys)
    cores = len(os.sched_getaffinity(0))
    assert "DRF_VIEWS=sync" in line
    assert f"-m gunicorn --config {GUNICORN_CONF}" in line
    assert "--bind 127.0.0.1:8002" in line
    assert f"--workers {2 * cores + 1}" in line
    assert "--worker-class gthread --threads 100" in line
    assert "WORKER_CONNECTIONS=10000" in line
    assert line.endswith("drf_app.wsgi:application")


@pytest.mark.parametrize(
    ("server", "worker_class", "app", "views"),
    [
        ("gunicorn-sync", "sync", "drf_app.wsgi:application", "sync"),
        ("gunicorn-gevent", "gevent", "drf_app.wsgi:application", "sync"),
        ("gunicorn-uvicorn", "uvicorn_worker.UvicornWorker", "drf_app.asgi:application", "async"),
    ],
)
def test_gunicorn_servers(
    capsys: pytest.CaptureFixture[str], server: str, worker_class: str, app: str, views: str
) -> None:
    line = dry_run(capsys, "--server", server, "--workers", "2", "--port", "9000")
    assert f"DRF_VIEWS={views}" in line
    assert f"--worker-class {worker_class} " in line
    assert "--workers 2" in line and "--bind 127.0.0.1:9000" in line
    assert "--threads" not in line
    assert line.endswith(app)


def test_uvicorn(capsys: pytest.CaptureFixture[str]) -> None:
    line = dry_run(capsys, "--server", "uvicorn", "--host", "::1")
    assert "DRF_VIEWS=async" in line
    assert "WORKER_CONNECTIONS" not in line  # uvicorn has no connection limit
    assert "-m uvicorn drf_app.asgi:application --host ::1 --port 8002 --workers 1" in line
    assert "--no-access-log --lifespan off --timeout-keep-alive 75" in line


def test_specific_host_is_allowed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_ALLOWED_HOSTS", raising=False)
    assert "DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost,[::1],10.1.2.3" in dry_run(
        capsys, "--host", "10.1.2.3"
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--server", "waitress"],
        ["--workers", "0"],
        ["--port", "http"],
        ["--port", "70000"],
        ["--threads", "8", "--server", "gunicorn-sync"],
        ["--threads", "8", "--server", "uvicorn"],
        ["--worker-connections", "8", "--server", "gunicorn-sync"],
        ["--worker-connections", "8", "--server", "uvicorn"],
        ["--worker-connections", "0"],
        ["--unknown"],
    ],
)
def test_bad_flags_exit_2(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--dry-run", *flags])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def gunicorn_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    """The settings of gunicorn_conf.py, loaded as gunicorn loads it, under `env`."""
    monkeypatch.delenv("WORKER_CONNECTIONS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings: dict[str, object] = {}
    exec(GUNICORN_CONF.read_text(), settings)
    return settings


@pytest.mark.parametrize("server", ["gunicorn-gthread", "gunicorn-gevent"])
def test_worker_connections_reach_the_gunicorn_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    line = dry_run(capsys, "--server", server, "--worker-connections", "500")
    assert "WORKER_CONNECTIONS=500" in line.split(" -m ")[0]
    settings = gunicorn_config(monkeypatch, WORKER_CONNECTIONS="500")
    assert settings["worker_connections"] == 500
    assert settings["backlog"] == 2048  # gunicorn's default, never less
    settings = gunicorn_config(monkeypatch, WORKER_CONNECTIONS="20000")
    assert (settings["worker_connections"], settings["backlog"]) == (20000, 20000)


def test_gunicorn_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = gunicorn_config(monkeypatch)
    # No hidden limit below 10,000 in flight, and a backlog that can hold as many.
    assert (settings["worker_connections"], settings["backlog"]) == (10000, 10000)
    assert (settings["keepalive"], settings["accesslog"]) == (75, None)
