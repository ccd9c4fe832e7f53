"""Gunicorn settings for the FastAPI service, shared by both ASGI worker classes.

`python -m fastapi_app --server gunicorn-uvicorn|gunicorn-asgi` passes the worker class,
worker count and bind address on the command line; those override the values here.
Run by hand: `gunicorn -c fastapi_app/gunicorn_conf.py -k asgi`.
"""

import os
import shutil
from pathlib import Path
from typing import Any

wsgi_app = "fastapi_app.main:create_app()"
bind = "127.0.0.1:8000"
# Gunicorn's rule of thumb, on the cores this process may run on (the runner pins it).
workers = 2 * len(os.sched_getaffinity(0)) + 1
worker_class = "uvicorn_worker.UvicornWorker"

# Gunicorn's default of 2 s would drop a load generator's idle persistent connections.
keepalive = 75
# The ASGI worker applies no cap with it today; kept high so that it never does silently.
worker_connections = 10000
timeout = 30
graceful_timeout = 10

# Production: no access log, errors to stderr, no reload.
accesslog = None
errorlog = "-"
loglevel = "info"
reload = False

# Gunicorn 25.1+ opens a control socket at one fixed path per user; two servers
# started side by side (tests, benchmark targets) would fight over it.
control_socket_disable = True

# Native ASGI worker (-k asgi) only.
asgi_loop = "uvloop"
# Start-up must open the upstream client: a lifespan that fails stops the server.
asgi_lifespan = "on"
# Cancel a request as soon as its client leaves (gunicorn waits 3 s by default), so a
# dropped stream releases its upstream connection at once, as it does under uvicorn.
asgi_disconnect_grace_period = 0


def post_worker_init(worker: Any) -> None:
    """Make the native ASGI worker listen with gunicorn's `backlog`, as uvicorn's does.

    Gunicorn 27.0's ASGIWorker hands the shared listening socket to the event loop's
    create_server without a backlog, and asyncio then listens again with its default of
    100: past 100 connections waiting to be accepted, the kernel drops new ones and their
    clients retry a second or three later (measured: 1,360 overflows in 10 s of a
    capacity ramp, this worker's and the mock's together, and p99s 1-3 s over the
    upstream's). The hook runs once the worker's
    loop exists and before it serves.
    """
    loop = getattr(worker, "loop", None)
    if loop is None:  # uvicorn's worker passes the backlog itself
        return
    create_server = loop.create_server

    async def create_server_with_backlog(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("backlog", worker.cfg.backlog)
        return await create_server(*args, **kwargs)

    loop.create_server = create_server_with_backlog


# Prometheus multiprocess mode (METRICS=1): `python -m fastapi_app` gives every start a
# fresh PROMETHEUS_MULTIPROC_DIR, where each worker keeps its series in files.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_PREFIX = "fastapi_app-metrics-"


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (requests in progress, CPU, memory...).

    Its counters and histograms stay: what it served still counts. Runs in the master.
    """
    if os.environ.get(MULTIPROC_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the launcher's metrics directory when gunicorn stops (never another one)."""
    directory = os.environ.get(MULTIPROC_DIR)
    if directory and Path(directory).name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
