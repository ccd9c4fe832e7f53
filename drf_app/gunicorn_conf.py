"""gunicorn settings of the DRF service, shared by every worker class.

`python -m drf_app` passes bind, workers, worker class and threads on the command
line (they override this file); run by hand it is
`gunicorn -c drf_app/gunicorn_conf.py -k gthread --threads 100 drf_app.wsgi:application`.
Threads are deliberately not set here: gunicorn silently turns a sync worker into
gthread whenever threads > 1.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any


def default_workers() -> int:
    """Return gunicorn's recommended worker count, 2 x cores + 1, for the cores we may use."""
    # sched_getaffinity, not cpu_count: the bench runner pins the server to some cores.
    return 2 * len(os.sched_getaffinity(0)) + 1


# Each request holds a gthread thread for the whole upstream call, so threads x
# workers is the concurrency ceiling; 100 matches the figure measured for Flask.
DEFAULT_THREADS = 100

bind = "127.0.0.1:8002"
workers = default_workers()
# Per worker: at most this many client connections at once (gevent: greenlets, each
# holding one upstream connection; gthread: open connections, `threads` of them being
# served and the rest waiting in keep-alive; the sync and uvicorn workers ignore it).
# High enough that it never binds below 10,000 in flight; `python -m drf_app
# --worker-connections N` sets it through WORKER_CONNECTIONS, which also works when
# gunicorn is run by hand.
DEFAULT_WORKER_CONNECTIONS = 10000
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", DEFAULT_WORKER_CONNECTIONS))
# Connections waiting to be accepted: never fewer than a worker may hold (gunicorn's
# default is 2048). The kernel caps it at net.core.somaxconn (4096 by default).
backlog = max(2048, worker_connections)
# Long enough that a load generator's persistent connections are not cut every 2 s
# (gunicorn's default); the sync worker ignores it and closes after each response.
keepalive = 75
# A sync worker silent for `timeout` s is killed; let the upstream timeout (504) fire first.
timeout = math.ceil(float(os.environ.get("LLM_TIMEOUT_S", "30"))) + 30
graceful_timeout = 10
# gunicorn 27 opens a control socket at one fixed per-user path by default; two servers
# on one machine (a benchmark next to a test run) would fight over it.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "info"

# A body over the 64 KiB limit is refused from its Content-Length, unread. A pooled
# client then sends its next request on the same connection, but the gthread worker
# reads at most 64 KiB of what is left and otherwise drops the connection after a 413
# that announced keep-alive (issue 12). So `post_request` reads and drops what the app
# left of a body, for up to DRAIN_TIMEOUT_S, and the connection stays usable. Under
# gthread, a request that declares more than KEEP_ALIVE_BODY_MAX bytes is answered with
# `Connection: close` instead (`pre_request`: a WSGI app cannot set that header); the
# drain still runs, so that a client busy sending its body reads its 413 rather than a
# reset (a lingering close). The gevent worker reads any unread body itself; the sync
# worker closes every connection.
KEEP_ALIVE_BODY_MAX = 1024 * 1024
# gunicorn's own bound on draining a body, so that a stalled client cannot hold a thread.
DRAIN_TIMEOUT_S = 5.0


def _declared_length(req: Any) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            return int(value)  # gunicorn has refused any other value already
    return None


def pre_request(worker: Any, req: Any) -> None:
    """Under gthread, close the connection after a declared body too long to keep it for."""
    if type(worker).__name__ != "ThreadWorker":
        return
    length = _declared_length(req)
    if length is not None and length > KEEP_ALIVE_BODY_MAX:
        req.force_close()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    """Read and drop what the app left of the request body, for at most DRAIN_TIMEOUT_S."""
    sock: socket.socket = environ["gunicorn.socket"]
    previous = sock.gettimeout()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    try:
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            if not req.body.read(65536):
                return
    except Exception:
        # Stalled, gone, or a malformed chunk: gunicorn sees the body unfinished (or
        # failed) and closes the connection.
        pass
    finally:
        sock.settimeout(previous)


# Prometheus metrics (METRICS=1): `python -m drf_app` gives every start a fresh
# PROMETHEUS_MULTIPROC_DIR, where each worker keeps its series in files that any
# worker's GET /metrics merges.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_PREFIX = "drf_app-metrics-"


def post_worker_init(worker: Any) -> None:
    """Start a WSGI worker's runtime series (gevent hub lag, gthread threads, CPU, memory).

    Here, once the app is loaded and gevent (if it is the worker) has patched the
    process. The ASGI workers start theirs on the event loop with the first request.
    """
    from django.conf import settings

    if settings.METRICS and type(worker).__name__ in ("SyncWorker", "ThreadWorker", "GeventWorker"):
        from drf_app.metrics.runtime import start_worker_sampler
        from drf_app.metrics.series import series

        start_worker_sampler(series(), type(worker).__name__, worker.cfg.threads)


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
