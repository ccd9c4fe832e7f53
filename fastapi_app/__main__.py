"""Start the FastAPI service: `python -m fastapi_app --help`.

Parses the flags, then replaces this process with the real server (uvicorn or gunicorn)
so that signals and exit codes belong to the server itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from fastapi_app.config import Settings

APP_FACTORY = "fastapi_app.main:create_app"
GUNICORN_CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"
WORKER_CLASSES = {
    "gunicorn-uvicorn": "uvicorn_worker.UvicornWorker",
    # gunicorn 27's native ASGI worker (gunicorn.workers.gasgi.ASGIWorker).
    "gunicorn-asgi": "asgi",
}
SERVERS = ("uvicorn", *WORKER_CLASSES)
VARIANTS = ("async", "sync", "blocking")
# Where prometheus_client keeps the series of every worker process (METRICS=1).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The prefix of the directories that the launcher makes (gunicorn_conf.py removes them).
METRICS_DIR_PREFIX = "fastapi_app-metrics-"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m fastapi_app",
        description="Run the FastAPI service under uvicorn or gunicorn.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (8000)")
    parser.add_argument("--server", choices=SERVERS, default="uvicorn", help="server model")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="worker processes (uvicorn: 1; gunicorn: 2 x cores + 1)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        help="threadpool size per worker for def endpoints, sets THREADPOOL_SIZE "
        "(default: anyio's 40)",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default="async",
        help="async (default), sync (def endpoints in the threadpool) or "
        "blocking (TEACHING ONLY: sync calls inside async def)",
    )
    return parser


def default_workers(server: str) -> int:
    """Return uvicorn's 1, or gunicorn's 2 x cores + 1 on the cores this process may use."""
    if server == "uvicorn":
        return 1
    return 2 * len(os.sched_getaffinity(0)) + 1


def server_command(args: argparse.Namespace) -> list[str]:
    """Return the argv of the server process for the parsed flags."""
    workers = str(args.workers or default_workers(args.server))
    if args.server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", APP_FACTORY, "--factory",
            "--host", args.host, "--port", str(args.port), "--workers", workers,
            "--no-access-log", "--loop", "uvloop", "--http", "httptools",
            "--timeout-keep-alive", "75",
        ]  # fmt: skip
    host = f"[{args.host}]" if ":" in args.host else args.host
    return [
        sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
        "--worker-class", WORKER_CLASSES[args.server], "--workers", workers,
        "--bind", f"{host}:{args.port}", f"{APP_FACTORY}()",
    ]  # fmt: skip


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Return the variables that pass the variant and threadpool size to every worker."""
    env = {"FASTAPI_VARIANT": args.variant}
    if args.threads is not None:
        env["THREADPOOL_SIZE"] = str(args.threads)
    return env


def needs_multiprocess_metrics(args: argparse.Namespace) -> bool:
    """Whether the server may run several worker processes, whose series must be merged.

    Gunicorn always: even with one worker it replaces a dead one, whose counts must stay.
    """
    return args.server != "uvicorn" or (args.workers or 1) > 1


def metrics_directory() -> dict[str, str]:
    """Make a fresh, empty directory for the series of this server's workers.

    Fresh at every start: files left by an earlier server would add its counts to this
    one's. Set before the server starts, so that every worker inherits it before it
    first imports prometheus_client (which decides its mode at import).
    """
    return {MULTIPROC_DIR: tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX, dir=memory_folder())}


def memory_folder() -> str | None:
    """/dev/shm where there is one (Linux): the workers write their series into memory-mapped
    files at every request, and on tmpfs no page of them is ever written back to a disk,
    whose stall would then stall a request. Elsewhere the temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags and exec the server."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.update(server_environment(args))
    try:
        # Fail here with a usage error rather than in every worker at start-up.
        settings = Settings()
    except ValidationError as exc:
        parser.error(f"invalid settings in the environment: {exc}")
    if settings.metrics and needs_multiprocess_metrics(args):
        os.environ.update(metrics_directory())
    command = server_command(args)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
