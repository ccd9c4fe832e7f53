"""gunicorn settings for flask_app; worker class, workers, threads and bind come from the CLI.

Loaded by gunicorn's master before it forks; it must not import flask_app, so that
the gevent worker can monkey-patch before httpx, urllib3 or ssl are imported.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

# Benchmark clients hold their connections open; gunicorn's default of 2 s would close
# them between requests for the gthread and gevent workers (the sync worker never keeps
# a connection alive).
keepalive = 75

# Per worker: at most this many client connections at once (gevent: greenlets, each
# holding one upstream connection; gthread: open connections, `threads` of them being
# served and the rest waiting in keep-alive; the sync worker ignores it). High enough that
# it never binds below 10,000 in flight; `python -m flask_app --worker-connections N`
# sets it through WORKER_CONNECTIONS, which also works when gunicorn is run by hand.
DEFAULT_WORKER_CONNECTIONS = 10000
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", DEFAULT_WORKER_CONNECTIONS))
# Connections waiting to be accepted: never fewer than a worker may hold (gunicorn's
# default is 2048). The kernel caps it at net.core.somaxconn (4096 by default).
backlog = max(2048, worker_connections)

# The master kills a worker whose heartbeat is older than this. A sync worker beats
# only between requests, and one request may take LLM_TIMEOUT_S (30 s) and, streamed,
# somewhat more; raise this if you raise LLM_TIMEOUT_S.
timeout = 120
graceful_timeout = 30

# The heartbeat file on tmpfs: a disk stall must not look like a hung worker.
worker_tmp_dir = "/dev/shm"

# Production logging: no access log (it would cost CPU in every measured request),
# errors to stderr.
accesslog = None
errorlog = "-"
loglevel = "info"

# Each worker imports the app itself after fork, so the upstream pool is per process.
preload_app = False

proc_name = "flask_app"

# gunicorn 25+ opens a control socket at one default path per user; several servers run
# side by side in the benchmark and the tests, and nothing here uses gunicornc.
control_socket_disable = True

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


# Prometheus metrics (METRICS=1): `python -m flask_app` gives every start a fresh
# PROMETHEUS_MULTIPROC_DIR, where each worker keeps its series in files that any
# worker's GET /metrics merges.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_PREFIX = "flask_app-metrics-"


def post_worker_init(worker: Any) -> None:
    """Start the worker's runtime series (gevent hub lag, gthread threads, CPU, memory).

    Here, once the app is loaded and gevent (if it is the worker) has patched the process.
    """
    metrics = getattr(worker.wsgi, "extensions", {}).get("metrics")
    if metrics is not None:
        metrics.start_worker(type(worker).__name__, worker.cfg.threads)


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
