"""The start-up CLI: flags, defaults and the exact server command lines."""

from __future__ import annotations

import os
import sys

import pytest

from fastapi_app.__main__ import GUNICORN_CONF, build_parser, main, server_command


def command(*flags: str) -> list[str]:
    return server_command(build_parser().parse_args(flags))


def test_uvicorn_is_the_default() -> None:
    assert command() == [
        sys.executable, "-m", "uvicorn", "fastapi_app.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", "8000", "--workers", "1",
        "--no-access-log", "--loop", "uvloop", "--http", "httptools",
        "--timeout-keep-alive", "75",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("server", "worker_class"),
    [("gunicorn-uvicorn", "uvicorn_worker.UvicornWorker"), ("gunicorn-asgi", "asgi")],
)
def test_gunicorn_servers(server: str, worker_class: str) -> None:
    workers = 2 * len(os.sched_getaffinity(0)) + 1
    assert command("--server", server, "--port", "9000") == [
        sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
        "--worker-class", worker_class, "--workers", str(workers),
        "--bind", "127.0.0.1:9000", "fastapi_app.main:create_app()",
    ]  # fmt: skip


def test_workers_and_ipv6_host() -> None:
    argv = command("--server", "gunicorn-asgi", "--host", "::1", "--workers", "3")
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--bind") + 1] == "[::1]:8000"


def test_gunicorn_config_is_production_safe() -> None:
    namespace: dict[str, object] = {}
    exec(GUNICORN_CONF.read_text(), namespace)
    assert namespace["accesslog"] is None
    assert namespace["errorlog"] == "-"
    assert namespace["keepalive"] == 75
    assert namespace["reload"] is False
    assert namespace["bind"] == "127.0.0.1:8000"


@pytest.mark.parametrize(
    "flags",
    [
        ["--server", "gunicorn-sync"],
        ["--port", "http"],
        ["--port", "70000"],
        ["--workers", "0"],
        ["--threads", "-1"],
        ["--variant", "threads"],
        ["--bogus"],
    ],
)
def test_bad_flags_exit_2(flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(flags)
    assert exit_info.value.code == 2


def test_bad_environment_exits_2_without_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_CLIENT", "aiohttp")
    monkeypatch.setenv("LLM_API_KEY", "sk-never-print-me")
    monkeypatch.setenv("FASTAPI_VARIANT", "async")
    monkeypatch.setattr(os, "execvp", pytest.fail)
    with pytest.raises(SystemExit) as exit_info:
        main(["--variant", "sync"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "LLM_CLIENT=aiohttp does not work with the sync variant" in error
    assert "sk-never-print-me" not in error


def test_variant_and_threads_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_CLIENT", raising=False)
    # Set first so that monkeypatch restores what main() overwrites.
    monkeypatch.setenv("FASTAPI_VARIANT", "async")
    monkeypatch.setenv("THREADPOOL_SIZE", "40")
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(os, "execvp", lambda file, args: calls.append((file, args)))
    main(["--variant", "sync", "--threads", "8", "--port", "8123"])
    assert os.environ["FASTAPI_VARIANT"] == "sync"
    assert os.environ["THREADPOOL_SIZE"] == "8"
    assert calls[0][0] == sys.executable
    assert "8123" in calls[0][1]
