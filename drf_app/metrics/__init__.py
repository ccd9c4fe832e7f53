"""Prometheus metrics of the service, on when METRICS=1 (docs/metrics.md, "Server metrics").

Nothing of this package is imported while METRICS is off: no series exist, the
middleware is not in settings.MIDDLEWARE, no sampler starts, and GET /metrics is the
service's JSON 404.

- `series`: the series of this process and their exposition (one registry; multiprocess
  mode when the launcher gave the server a PROMETHEUS_MULTIPROC_DIR);
- `middleware`: the Django middleware that times every request, and the /metrics view;
- `upstream`: the LLM clients wrapped so that every upstream call is counted and timed;
- `runtime`: the samplers (event-loop lag under ASGI, gevent hub lag, gthread threads,
  GC pauses, CPU and memory).
"""

from __future__ import annotations

from collections.abc import Mapping


def metrics_enabled(environ: Mapping[str, str]) -> bool:
    """Read METRICS: 1 on; unset, empty or 0 off; any other value is refused (ValueError).

    The same rule in every service, so that a typo never leaves metrics silently off.
    Here, free of imports, so that the launcher and settings.py can both read it.
    """
    value = environ.get("METRICS", "")
    if value not in ("", "0", "1"):
        raise ValueError(f"METRICS={value!r}: use 1 (on) or 0 (off)")
    return value == "1"
