"""Start the Flask service under gunicorn: `python -m flask_app --help`."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from flask_app.config import metrics_enabled
from flask_app.gunicorn_conf import DEFAULT_WORKER_CONNECTIONS, METRICS_DIR_PREFIX, MULTIPROC_DIR

GUNICORN_CONF = Path(__file__).with_name("gunicorn_conf.py")
WORKER_CLASSES = {
    "gunicorn-gthread": "gthread",
    "gunicorn-sync": "sync",
    "gunicorn-gevent": "gevent",
}
# Every in-flight request holds a thread for its whole upstream latency, so a worker's
# concurrency is its thread count; 100 per worker covers hundreds of concurrent
# requests on a few workers while threads mostly sleep in socket reads.
DEFAULT_THREADS = 100


def default_workers() -> int:
    """gunicorn's recommendation, 2 x cores + 1, counting the cores this process may use."""
    return 2 * len(os.sched_getaffinity(0)) + 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the flags; exit 2 with a usage error on bad ones."""
    parser = argparse.ArgumentParser(prog="python -m flask_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--server", choices=list(WORKER_CLASSES), default="gunicorn-gthread")
    parser.add_argument(
        "--workers", type=_positive, default=None, help="default: 2 x usable cores + 1"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help=f"threads per gthread worker (default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--worker-connections",
        type=_positive,
        default=None,
        help="connections per gthread or gevent worker "
        f"(default {DEFAULT_WORKER_CONNECTIONS}; gunicorn's backlog is at least as large)",
    )
    args = parser.parse_args(argv)
    # gunicorn silently turns a sync worker with threads > 1 into gthread.
    if args.threads is not None and args.server != "gunicorn-gthread":
        parser.error("--threads applies only to --server gunicorn-gthread")
    if args.worker_connections is not None and args.server == "gunicorn-sync":
        parser.error("--worker-connections applies to gunicorn-gthread and gunicorn-gevent")
    return args


def gunicorn_command(args: argparse.Namespace) -> list[str]:
    """Build the gunicorn command line for the parsed arguments."""
    host = f"[{args.host}]" if ":" in args.host else args.host
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONF),
        "--worker-class",
        WORKER_CLASSES[args.server],
        "--workers",
        str(args.workers or default_workers()),
        "--bind",
        f"{host}:{args.port}",
    ]
    if args.server == "gunicorn-gthread":
        command += ["--threads", str(args.threads or DEFAULT_THREADS)]
    return [*command, "flask_app:create_app()"]


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Return the variables that gunicorn_conf.py reads: the connections per worker."""
    connections = args.worker_connections or DEFAULT_WORKER_CONNECTIONS
    return {"WORKER_CONNECTIONS": str(connections)}


def metrics_directory() -> dict[str, str]:
    """Make a fresh, empty directory for the series of this server's workers (METRICS=1).

    Fresh at every start: files left by an earlier server would add its counts to this
    one's. Set before gunicorn starts, so that every worker inherits it before it first
    imports prometheus_client (which decides its mode at import).
    """
    return {MULTIPROC_DIR: tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX, dir=memory_folder())}


def memory_folder() -> str | None:
    """/dev/shm where there is one (Linux): the workers write their series into memory-mapped
    files at every request, and on tmpfs no page of them is ever written back to a disk,
    whose stall would then stall a request. Elsewhere the temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Parse the flags and exec gunicorn; exit 2 on bad flags or a bad METRICS."""
    args = parse_args(argv)
    command = gunicorn_command(args)
    env = server_environment(args)
    try:
        metrics = metrics_enabled(os.environ)
    except ValueError as exc:
        print(f"python -m flask_app: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if metrics:
        env.update(metrics_directory())
    print(shlex.join([f"{key}={value}" for key, value in env.items()] + command), file=sys.stderr)
    os.environ.update(env)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
