"""The common claims, measured: the tutorials' comparison table next to this machine's figures.

Tutorials that introduce FastAPI, Flask and Django REST Framework compare them in a
table. Its rows are data here (CLAIMS); each measurable row gets this machine's figures
and a verdict drawn from them, with these thresholds:

- "high" against "moderate" (performance): FastAPI serves at least HIGH_FACTOR (1.5) x
  the other framework's req/s per server core. Checked on `hello` (the framework alone)
  and on `complete` (one upstream call per request), each framework on its default
  server.
- "orders of magnitude" (concurrency): the ASGI server held at least ORDERS_FACTOR
  (100, two orders) x the LLM calls in flight that a WSGI server model held on the
  same core; one order (10 x) is named as such.
- streaming "built in" against "manual", as a user would see it: a framework's stream
  is worse when its first token arrives more than TTFT_MARGIN_MS (20 ms) later than
  FastAPI's, over the LLM's own time to first token, or when it merges chunks (fidelity
  below 0.99).

A verdict is "holds" when every comparison passes, "holds only ..." naming those that
pass when some do, "does not hold here" when none does, and "no benchmark settles it"
for rows about what a developer writes (the services' code shows what it is).

Pure: verdicts are computed from runs (the claims' own points, the streaming-ttft and
concurrency demos' when `bench demo all` ran them); bench.demos.suite measures.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from bench.demos.mechanisms import Code
from bench.reports import charts
from bench.results.analysis import GENERATOR_CPU
from bench.results.model import Capacity, Point, Run

HIGH_FACTOR = 1.5
ORDERS_FACTOR = 100.0
ONE_ORDER = 10.0
TTFT_MARGIN_MS = 20.0
FIDELITY_FLOOR = 0.99
FRAMEWORKS = {"fastapi": "FastAPI", "flask": "Flask", "drf": "DRF"}
ASGI_SERVERS = ("uvicorn", "gunicorn-uvicorn", "gunicorn-asgi")
SERVER_MODELS = {
    "gunicorn-sync": "sync workers",
    "gunicorn-gthread": "threads",
    "gunicorn-gevent": "green threads",
}

QUESTION = (
    "Tutorials compare the frameworks in a table: async routes (Flask: needs a plugin; DRF: "
    "limited; FastAPI: native), streaming (Flask and DRF: manual; FastAPI: built in), "
    "performance (Flask and DRF moderate, FastAPI high), and ASGI handling 'orders of "
    "magnitude more concurrent requests' for I/O-bound AI calls. Which rows hold here?"
)
PREDICTION = (
    "The API rows are not a matter of measurement. FastAPI is faster on a trivial endpoint, "
    "much less so once each request waits for an LLM; every framework streams the first "
    "token as it arrives; the orders of magnitude hold against sync workers only."
)
THRESHOLDS = (
    f"'high' = at least {HIGH_FACTOR:g}x the other framework's req/s per core; 'orders of "
    f"magnitude' = at least {ORDERS_FACTOR:g}x the LLM calls held in flight ({ONE_ORDER:g}x "
    f"is one order); a stream is worse when its first token comes more than "
    f"{TTFT_MARGIN_MS:g} ms later than FastAPI's or its chunk fidelity is below "
    f"{FIDELITY_FLOOR:g}."
)

# Verdict kinds.
HOLDS = "holds"
HOLDS_ONLY = "holds only"
DOES_NOT_HOLD = "does not hold here"
NOT_MEASURABLE = "no benchmark settles it"
NO_DATA = "not measured"


@dataclass(frozen=True)
class Claim:
    """One row of the tutorials' table, and what this suite measures for it."""

    key: str
    topic: str
    says: str  # what the tutorials' table says
    measured_by: str | None  # None: about the API, no benchmark settles it
    code: tuple[Code, ...] = ()


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "async",
        "Async routes",
        "Flask: needs a plugin; DRF: limited; FastAPI: native",
        None,
        (
            Code(
                "fastapi_app/routers/completions.py",
                "complete",
                "FastAPI: `async def` endpoints, native",
            ),
            Code(
                "flask_app/views.py",
                "complete",
                "Flask: plain `def` views; concurrency comes from gunicorn's gevent or "
                "gthread workers (Flask's own `async def` views need the asgiref extra and "
                "still hold a worker per request)",
            ),
            Code(
                "drf_app/completions/async_views.py",
                "CompleteView.post",
                "DRF: async views through the third-party adrf package",
            ),
        ),
    ),
    Claim(
        "streaming",
        "Streaming",
        "Flask and DRF: manual; FastAPI: built in",
        "time to first token through each framework's stream, over the LLM's own, and "
        "chunk fidelity",
        (
            Code("fastapi_app/routers/completions.py", "complete_stream", "StreamingResponse"),
            Code("flask_app/sse.py", "encode_events", "a generator in a Response"),
            Code("drf_app/completions/sse.py", "arelay", "StreamingHttpResponse, twice"),
        ),
    ),
    Claim(
        "performance",
        "Performance (req/sec)",
        "Flask: moderate; DRF: moderate; FastAPI: high",
        "hello and complete req/s per server core, each framework on its default server",
    ),
    Claim(
        "concurrency",
        "Concurrent I/O-bound AI calls",
        "ASGI handles orders of magnitude more concurrent requests",
        "the most LLM calls each server model kept in flight at once on one core",
    ),
)


@dataclass(frozen=True)
class Verdict:
    """A claim, what was measured for it here, and what the figures say of it."""

    claim: Claim
    kind: str
    verdict: str  # the short verdict: "holds only on hello"
    figures: tuple[str, ...] = ()  # the figures measured here, one sentence each
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """One pairwise check of a claim: FastAPI (or ASGI) against another, and whether it held."""

    against: str
    on: str
    ratio: float
    held: bool


def _fw(point: Point) -> str:
    return FRAMEWORKS.get(point.framework, point.framework)


def _ok_points(runs: Iterable[Run], scenario: str) -> list[Point]:
    return [p for run in runs for p in run.points if p.ok and p.scenario == scenario]


def _claims_points(runs: Iterable[Run], scenario: str) -> list[Point]:
    return _ok_points((r for r in runs if r.info.preset == "demo:claims"), scenario)


def per_core(point: Point) -> float:
    """Throughput per server core."""
    return point.throughput_rps / max(point.server_cores or 1, 1)


def _best_by_framework(points: list[Point]) -> dict[str, Point]:
    best: dict[str, Point] = {}
    for point in points:
        name = _fw(point)
        if name not in best or per_core(point) > per_core(best[name]):
            best[name] = point
    return best


def _summary(comparisons: list[Comparison]) -> tuple[str, str]:
    """The kind and the short verdict from pairwise checks."""
    held = [c for c in comparisons if c.held]
    if comparisons and len(held) == len(comparisons):
        return HOLDS, HOLDS
    if not held:
        return DOES_NOT_HOLD, DOES_NOT_HOLD
    ons = {c.on for c in comparisons}
    held_ons = {c.on for c in held}
    if len(ons) > 1 and len(held_ons) == 1:
        (on,) = held_ons
        if {c.against for c in held} == {c.against for c in comparisons if c.on == on}:
            return HOLDS_ONLY, f"holds only on {on}"
    parts = []
    for against in dict.fromkeys(c.against for c in comparisons):
        where = [c.on for c in held if c.against == against]
        if where and len(where) == sum(1 for c in comparisons if c.against == against):
            parts.append(f"against {against}")
        elif where:
            parts.append(f"against {against} on {' and '.join(where)}")
    return HOLDS_ONLY, "holds only " + ", and ".join(parts)


# --- performance ---------------------------------------------------------------------


def _performance_figure(scenario: str, best: dict[str, Point]) -> str:
    parts = []
    for name, point in sorted(best.items(), key=lambda kv: -per_core(kv[1])):
        bound = (
            " (a lower bound: the load generator was saturated)" if point.has(GENERATOR_CPU) else ""
        )
        parts.append(f"{name} ({point.target}) {per_core(point):,.0f}{bound}")
    users = next(iter(best.values())).load.users
    return f"{scenario} at {users} users, req/s per core: " + "; ".join(parts) + "."


def performance(runs: list[Run]) -> Verdict:
    claim = _claim("performance")
    comparisons: list[Comparison] = []
    figures: list[str] = []
    notes: list[str] = []
    for scenario in ("hello", "complete"):
        best = _best_by_framework(_claims_points(runs, scenario))
        fast = best.get("FastAPI")
        if fast is None or len(best) < 2:
            continue
        figures.append(_performance_figure(scenario, best))
        for name, other in best.items():
            if name != "FastAPI":
                ratio = per_core(fast) / max(per_core(other), 1e-9)
                comparisons.append(Comparison(name, scenario, ratio, ratio >= HIGH_FACTOR))
        at_ceiling = [p for p in best.values() if (p.efficiency or 0) >= 0.9]
        if scenario == "complete" and at_ceiling:
            names = ", ".join(_fw(p) for p in at_ceiling)
            notes.append(
                f"On complete, {names} reached users / latency (90 % or more): there the "
                "upstream's latency, not the framework, set the pace."
            )
    if not comparisons:
        return Verdict(claim, NO_DATA, NO_DATA, note="no hello or complete points of the claims")
    kind, verdict = _summary(comparisons)
    ratios = "; ".join(f"{c.on}: {c.ratio:.1f}x {c.against}" for c in comparisons)
    figures.append(f"FastAPI against the others ({HIGH_FACTOR:g}x needed): {ratios}.")
    return Verdict(claim, kind, verdict, tuple(figures), " ".join(notes))


# --- concurrency ---------------------------------------------------------------------


def held_in_flight(found: Capacity) -> float:
    """The most LLM calls in flight at once that the mock saw during the ramp's steps."""
    return max((p.in_flight_mean or 0.0 for p in found.points if p.ok), default=0.0)


def _is_asgi(found: Capacity) -> bool:
    return any(p.server_model in ASGI_SERVERS for p in found.points)


def _model(found: Capacity) -> str:
    """The server model and the target: "sync workers (flask-gunicorn-sync)"."""
    server = found.points[0].server_model if found.points else ""
    return f"{SERVER_MODELS.get(server, server)} ({found.target})"


def _top_users(found: Capacity) -> int:
    return max((p.load.users or 0 for p in found.points if p.ok), default=0)


def concurrency(runs: list[Run]) -> Verdict:
    claim = _claim("concurrency")
    found = [c for run in runs for c in run.capacity if c.points]
    asgi = [c for c in found if _is_asgi(c)]
    wsgi = [c for c in found if not _is_asgi(c)]
    if not asgi or not wsgi:
        return Verdict(claim, NO_DATA, NO_DATA, note="no load ramp of an ASGI and a WSGI target")
    best = max(asgi, key=held_in_flight)
    top = held_in_flight(best)
    figures = [
        f"{c.target}: {held_in_flight(c):,.0f} calls in flight at most"
        + (f" ({c.users_held:,} within the latency objective)" if c.users_held else "")
        for c in sorted(found, key=held_in_flight)
    ]
    comparisons = []
    for other in wsgi:
        ratio = top / max(held_in_flight(other), 1.0)
        comparisons.append(Comparison(_model(other), "concurrency", ratio, ratio >= ORDERS_FACTOR))
    kind, verdict = _summary(comparisons)
    ratios = "; ".join(
        f"{c.ratio:,.0f}x {c.against}"
        + (" (one order)" if ONE_ORDER <= c.ratio < ORDERS_FACTOR else "")
        for c in comparisons
    )
    figures.append(f"{best.target} against each ({ORDERS_FACTOR:g}x needed): {ratios}.")
    note = ""
    if top >= 0.8 * _top_users(best):
        note = (
            f"{best.target} kept up with the ramp's top step ({_top_users(best):,} users): its "
            "figure is a lower bound, the ramp ended before it did."
        )
    return Verdict(claim, kind, verdict, tuple(figures), note)


# --- streaming -----------------------------------------------------------------------


def _ttft_over_llm(point: Point, run: Run) -> float:
    ttft = point.ttft_ms.p50 if point.ttft_ms and point.ttft_ms.p50 is not None else 0.0
    return ttft - run.mock.ttft_ms


def _stream_points(runs: list[Run]) -> list[tuple[Point, Run]]:
    """The stream points: the claims' own when it measured some, else any demo's."""
    mine = [r for r in runs if r.info.preset == "demo:claims"]
    own = [(p, r) for r in mine for p in _ok_points([r], "stream")]
    if own:
        return own
    return [(p, r) for r in runs for p in _ok_points([r], "stream") if p.ttft_ms is not None]


def _stream_figure(point: Point, run: Run) -> str:
    fidelity = f"{point.chunk_fidelity:.2f}" if point.chunk_fidelity is not None else "-"
    return (
        f"{point.target}: first token {_ttft_over_llm(point, run):+,.1f} ms after the LLM's "
        f"({run.mock.ttft_ms:g} ms), fidelity {fidelity}"
    )


def streaming(runs: list[Run]) -> Verdict:
    claim = _claim("streaming")
    points = _stream_points(runs)
    fast = [(p, r) for p, r in points if p.framework == "fastapi"]
    others = [(p, r) for p, r in points if p.framework != "fastapi"]
    api = "Manual against built in is about the API, which no benchmark settles; measured "
    if not fast or not others:
        return Verdict(claim, NO_DATA, NO_DATA, note=api + "here: nothing (no stream points).")
    base = min(_ttft_over_llm(p, r) for p, r in fast)
    comparisons = []
    for point, run in others:
        late = _ttft_over_llm(point, run) - base
        merged = point.chunk_fidelity is not None and point.chunk_fidelity < FIDELITY_FLOOR
        worse = late > TTFT_MARGIN_MS or merged
        comparisons.append(Comparison(point.target, "stream", late, worse))
    kind, verdict = _summary(comparisons)
    figures = tuple(_stream_figure(p, r) for p, r in points)
    note = api + "is what users would notice: a later first token or merged chunks."
    return Verdict(claim, kind, verdict + " (as users see it)", figures, note)


def async_routes(_runs: list[Run]) -> Verdict:
    claim = _claim("async")
    shown = " ".join(f"{c.shows} (see {c.path})." for c in claim.code)
    return Verdict(
        claim,
        NOT_MEASURABLE,
        NOT_MEASURABLE,
        (),
        "It is about what a developer writes, not about speed; the services show it: " + shown,
    )


def _claim(key: str) -> Claim:
    return next(c for c in CLAIMS if c.key == key)


EVALUATE = {
    "async": async_routes,
    "streaming": streaming,
    "performance": performance,
    "concurrency": concurrency,
}


def evaluate(runs: list[Run]) -> list[Verdict]:
    """Every claim's verdict from these runs, in the table's order."""
    return [EVALUATE[claim.key](runs) for claim in CLAIMS]


# --- rendering -----------------------------------------------------------------------


def chart(runs: list[Run]) -> str:
    """Req/s per core of each framework on hello and complete, as bars (SVG)."""
    bars: dict[str, dict[str, float | None]] = {}
    for scenario in ("hello", "complete"):
        for name, point in _best_by_framework(_claims_points(runs, scenario)).items():
            bars.setdefault(f"{name} ({point.target})", {})[scenario] = per_core(point)
    return charts.bar_chart(
        bars, title="claims: req/s per server core", value_label="throughput", unit="req/s"
    )


def text(verdicts: list[Verdict]) -> str:
    """The verdicts for a terminal."""
    lines = []
    for v in verdicts:
        lines.append(f'{v.claim.topic}: "{v.claim.says}" -> verdict: {v.verdict}')
        lines += [f"  - {figure}" for figure in v.figures]
        if v.note:
            lines.append(f"  ({v.note})")
    return "\n".join(lines)


_CSS_CLASS = {HOLDS: "holds", HOLDS_ONLY: "partly", DOES_NOT_HOLD: "fails"}


def html_table(verdicts: list[Verdict]) -> str:
    """The verdicts as an HTML table: the tutorials' row, the figures, the verdict."""
    rows = []
    for v in verdicts:
        measured = v.claim.measured_by or "nothing: it is about the API"
        figures = "".join(f"<li>{html.escape(f)}</li>" for f in v.figures)
        note = f"<p class='note'>{html.escape(v.note)}</p>" if v.note else ""
        rows.append(
            f"<tr><td><b>{html.escape(v.claim.topic)}</b><br>{html.escape(v.claim.says)}</td>"
            f"<td><i>{html.escape(measured)}</i><ul>{figures}</ul>{note}</td>"
            f"<td class='verdict {_CSS_CLASS.get(v.kind, 'open')}'>{html.escape(v.verdict)}</td>"
            "</tr>"
        )
    return (
        "<table class='claims'><tr><th>The tutorials' table</th><th>Measured here</th>"
        f"<th>Verdict</th></tr>{''.join(rows)}</table>"
    )


def markdown_table(verdicts: list[Verdict]) -> str:
    """The verdicts as a Markdown table."""
    lines = ["| claim | measured here | verdict |", "| --- | --- | --- |"]
    for v in verdicts:
        figures = "<br>".join([*v.figures, *([v.note] if v.note else [])])
        lines.append(f"| **{v.claim.topic}**: {v.claim.says} | {figures} | {v.verdict} |")
    return "\n".join(lines) + "\n"
