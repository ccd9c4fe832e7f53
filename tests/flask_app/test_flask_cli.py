"""`python -m flask_app`: flags and the gunicorn command line it execs."""

from __future__ import annotations

import os
import sys

import pytest

from flask_app.__main__ import (
    DEFAULT_THREADS,
    GUNICORN_CONF,
    default_workers,
    gunicorn_command,
    main,
    parse_args,
    server_environment,
)


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_defaults_are_gthread_on_loopback_port_8001() -> None:
    command = gunicorn_command(parse_args([]))
    assert command[:3] == [sys.executable, "-m", "gunicorn"]
    assert _option(command, "--config") == str(GUNICORN_CONF)
    assert _option(command, "--worker-class") == "gthread"
    assert _option(command, "--bind") == "127.0.0.1:8001"
    assert _option(command, "--threads") == str(DEFAULT_THREADS)
    assert _option(command, "--workers") == str(2 * len(os.sched_getaffinity(0)) + 1)
    assert command[-1] == "flask_app:create_app()"


def test_default_workers_follow_gunicorn_advice() -> None:
    assert default_workers() == 2 * len(os.sched_getaffinity(0)) + 1


@pytest.mark.parametrize(
    ("server", "worker_class"),
    [("gunicorn-sync", "sync"), ("gunicorn-gevent", "gevent"), ("gunicorn-gthread", "gthread")],
)
def test_server_names_map_to_worker_classes(server: str, worker_class: str) -> None:
    command = gunicorn_command(parse_args(["--server", server, "--workers", "3", "--port", "9"]))
    assert _option(command, "--worker-class") == worker_class
    assert _option(command, "--workers") == "3"
    assert _option(command, "--bind") == "127.0.0.1:9"
    # A sync worker given threads would silently become gthread.
    assert ("--threads" in command) == (worker_class == "gthread")


def test_ipv6_host_is_bracketed() -> None:
    command = gunicorn_command(parse_args(["--host", "::1", "--port", "8001"]))
    assert _option(command, "--bind") == "[::1]:8001"


@pytest.mark.parametrize(
    "argv",
    [
        ["--server", "uvicorn"],
        ["--workers", "0"],
        ["--threads", "-1"],
        ["--port", "http"],
        ["--server", "gunicorn-sync", "--threads", "4"],
        ["--server", "gunicorn-gevent", "--threads", "4"],
        ["--server", "gunicorn-sync", "--worker-connections", "10"],
        ["--worker-connections", "0"],
        ["--bogus"],
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == 2
    assert "error" in capsys.readouterr().err


def gunicorn_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    """The settings of gunicorn_conf.py, loaded as gunicorn loads it, under `env`."""
    monkeypatch.delenv("WORKER_CONNECTIONS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings: dict[str, object] = {}
    exec(GUNICORN_CONF.read_text(), settings)
    return settings


def test_gunicorn_config_keeps_connections_and_silences_access_logs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = gunicorn_config(monkeypatch)
    assert settings["keepalive"] == 75
    assert settings["accesslog"] is None
    assert settings["errorlog"] == "-"
    assert settings["preload_app"] is False
    # No hidden limit below 10,000 in flight, and a backlog that can hold as many.
    assert settings["worker_connections"] == 10000
    assert settings["backlog"] == 10000


@pytest.mark.parametrize("server", ["gunicorn-gthread", "gunicorn-gevent"])
def test_worker_connections_reach_the_gunicorn_config(
    monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    for flags, expected in ([], "10000"), (["--worker-connections", "500"], "500"):
        env = server_environment(parse_args(["--server", server, *flags]))
        assert env == {"WORKER_CONNECTIONS": expected}
    settings = gunicorn_config(monkeypatch, WORKER_CONNECTIONS="500")
    assert settings["worker_connections"] == 500
    assert settings["backlog"] == 2048  # gunicorn's default, never less
    settings = gunicorn_config(monkeypatch, WORKER_CONNECTIONS="20000")
    assert (settings["worker_connections"], settings["backlog"]) == (20000, 20000)


def test_main_sets_the_environment_and_execs_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONNECTIONS", "1")  # restored after main() overwrites it
    calls: list[list[str]] = []
    monkeypatch.setattr(os, "execvp", lambda file, args: calls.append(args))
    main(["--server", "gunicorn-gevent", "--worker-connections", "700"])
    assert os.environ["WORKER_CONNECTIONS"] == "700"
    [command] = calls
    assert _option(command, "--config") == str(GUNICORN_CONF)
