"""gunicorn settings for flask_app; worker class, workers, threads and bind come from the CLI.

Loaded by gunicorn's master before it forks; it must not import flask_app, so that
the gevent worker can monkey-patch before httpx, urllib3 or ssl are imported.
"""

# Benchmark clients hold their connections open; gunicorn's default of 2 s would close
# them between requests for the gthread and gevent workers (the sync worker never keeps
# a connection alive).
keepalive = 75

# Per worker: at most this many clients at once (gevent: greenlets, one upstream
# connection each, matching LLM_MAX_CONNECTIONS; gthread: open connections, of which
# `threads` are being served and the rest wait in keep-alive).
worker_connections = 1000

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
