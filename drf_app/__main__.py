"""Start the DRF service: `python -m drf_app --server gunicorn-gthread --port 8002`.

Chooses the server, its worker model and the matching view set (sync views for WSGI,
adrf async views for ASGI), then replaces this process with the real server.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from drf_app.gunicorn_conf import (
    DEFAULT_THREADS,
    DEFAULT_WORKER_CONNECTIONS,
    METRICS_DIR_PREFIX,
    MULTIPROC_DIR,
    default_workers,
)
from drf_app.metrics import metrics_enabled

GUNICORN_CONF = Path(__file__).with_name("gunicorn_conf.py")
WSGI_APP = "drf_app.wsgi:application"
ASGI_APP = "drf_app.asgi:application"

# server -> (gunicorn worker class, or None for uvicorn itself; view set)
SERVERS: dict[str, tuple[str | None, str]] = {
    "gunicorn-gthread": ("gthread", "sync"),
    "gunicorn-sync": ("sync", "sync"),
    "gunicorn-gevent": ("gevent", "sync"),
    "uvicorn": (None, "async"),
    "gunicorn-uvicorn": ("uvicorn_worker.UvicornWorker", "async"),
}
DEFAULT_SERVER = "gunicorn-gthread"
# The worker classes that honour gunicorn's worker_connections.
CONNECTION_LIMITED = ("gunicorn-gthread", "gunicorn-gevent")
_DEFAULT_OR_WILDCARD = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::")
DEFAULT_PORT = 8002


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port")
    return value


def _bracketed(host: str) -> str:
    # IPv6 literals take brackets in a bind address and in a Host header.
    return f"[{host}]" if ":" in host else host


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m drf_app", description="Run the DRF service under a chosen server."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"({DEFAULT_PORT})")
    parser.add_argument(
        "--server",
        choices=list(SERVERS),
        default=DEFAULT_SERVER,
        help=f"server and worker model ({DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        help="processes (uvicorn: 1; gunicorn: 2 x usable cores + 1)",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        help=f"threads per worker, gunicorn-gthread only ({DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--worker-connections",
        type=_positive,
        help="connections per worker, gunicorn-gthread and gunicorn-gevent only "
        f"({DEFAULT_WORKER_CONNECTIONS}; gunicorn's backlog is at least as large)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the server command instead of running it"
    )
    return parser


def server_command(args: argparse.Namespace) -> list[str]:
    """Return the command line of the real server for parsed arguments."""
    worker_class, views = SERVERS[args.server]
    if worker_class is None:
        # uvicorn has no config file: these flags are its committed configuration.
        return [
            sys.executable, "-m", "uvicorn", ASGI_APP,
            "--host", args.host,
            "--port", str(args.port),
            "--workers", str(args.workers or 1),
            "--no-access-log",
            # Django's ASGI handler serves HTTP only; it has no lifespan protocol.
            "--lifespan", "off",
            "--timeout-keep-alive", "75",
        ]  # fmt: skip
    command = [
        sys.executable, "-m", "gunicorn",
        "--config", str(GUNICORN_CONF),
        "--bind", f"{_bracketed(args.host)}:{args.port}",
        "--workers", str(args.workers or default_workers()),
        "--worker-class", worker_class,
    ]  # fmt: skip
    if worker_class == "gthread":
        command += ["--threads", str(args.threads or DEFAULT_THREADS)]
    return [*command, ASGI_APP if views == "async" else WSGI_APP]


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Return the variables the server needs: view set, connections, the bound host as allowed."""
    worker_class, views = SERVERS[args.server]
    env = {"DJANGO_SETTINGS_MODULE": "drf_app.settings", "DRF_VIEWS": views}
    if worker_class is not None:
        # Read by gunicorn_conf.py: worker_connections, and a backlog at least as large.
        connections = args.worker_connections or DEFAULT_WORKER_CONNECTIONS
        env["WORKER_CONNECTIONS"] = str(connections)
    # Loopback names are allowed by default; a wildcard bind needs DJANGO_ALLOWED_HOSTS.
    if "DJANGO_ALLOWED_HOSTS" not in os.environ and args.host not in _DEFAULT_OR_WILDCARD:
        env["DJANGO_ALLOWED_HOSTS"] = f"127.0.0.1,localhost,[::1],{_bracketed(args.host)}"
    return env


def needs_multiprocess_metrics(args: argparse.Namespace) -> bool:
    """Whether the server may run several worker processes, whose series must be merged.

    Gunicorn always: even with one worker it replaces a dead one, whose counts must stay.
    """
    return args.server != "uvicorn" or (args.workers or 1) > 1


def metrics_directory() -> dict[str, str]:
    """Make a fresh, empty directory for the series of this server's workers (METRICS=1).

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


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Parse the flags and exec the server; exit 2 on bad flags."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads is not None and args.server != "gunicorn-gthread":
        parser.error("--threads applies to --server gunicorn-gthread only")
    if args.worker_connections is not None and args.server not in CONNECTION_LIMITED:
        parser.error("--worker-connections applies to gunicorn-gthread and gunicorn-gevent only")
    try:
        metrics = metrics_enabled(os.environ)
    except ValueError as exc:
        parser.error(str(exc))
    command = server_command(args)
    env = server_environment(args)
    if metrics and needs_multiprocess_metrics(args) and not args.dry_run:
        env.update(metrics_directory())
    if args.dry_run:
        print(" ".join(f"{key}={value}" for key, value in env.items()), shlex.join(command))
        sys.exit(0)
    os.environ.update(env)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
