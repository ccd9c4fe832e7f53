"""Prometheus metrics of the service, on when METRICS=1 (docs/metrics.md, "Server metrics").

Nothing of this package is imported while METRICS is off: no series exist, no middleware
runs, no sampler task starts, and GET /metrics is the framework's own JSON 404.

- `series`: the series and their exposition (one registry; multiprocess mode when the
  launcher gave the server a PROMETHEUS_MULTIPROC_DIR);
- `http`: the pure ASGI middleware that times every request, and the /metrics route;
- `upstream`: the LLM clients wrapped so that every upstream call is counted and timed;
- `runtime`: the per-worker sampler task (event-loop lag, AnyIO's threadpool, GC
  pauses, CPU and memory).
"""
