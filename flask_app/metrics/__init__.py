"""Prometheus metrics of the service, on when METRICS=1 (docs/metrics.md, "Server metrics").

Nothing of this package is imported while METRICS is off: no series exist, no hook runs,
no sampler starts, and GET /metrics is the app's JSON 404.

- `series`: the series and their exposition (one registry; multiprocess mode when the
  launcher gave gunicorn a PROMETHEUS_MULTIPROC_DIR);
- `extension`: the Flask extension (request hooks, GET /metrics);
- `upstream`: the LLM client wrapped so that every upstream call is counted and timed;
- `runtime`: the gunicorn worker's sampler (gevent hub lag, GC pauses, CPU and memory).
"""
