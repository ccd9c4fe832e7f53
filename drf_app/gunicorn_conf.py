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


def default_workers() -> int:
    """Return gunicorn's recommended worker count, 2 x cores + 1, for the cores we may use."""
    # sched_getaffinity, not cpu_count: the bench runner pins the server to some cores.
    return 2 * len(os.sched_getaffinity(0)) + 1


# Each request holds a gthread thread for the whole upstream call, so threads x
# workers is the concurrency ceiling; 100 matches the figure measured for Flask.
DEFAULT_THREADS = 100

bind = "127.0.0.1:8002"
workers = default_workers()
# Simultaneous clients per worker for gthread and gevent (gunicorn's default).
worker_connections = 1000
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
