"""`bench report <run-dir>`: report.md and one self-contained report.html per run.

Everything in a report is derived from results.json: the headline answer (who leads is
bench.results.ranking's decision; the sentences are this module's), then its parts in
the order of PARTS: capacity, faults, one per scenario with its charts
(bench.reports.scenario_charts), every point with its warnings next to the number it
concerns, the failures, the package variants, the environment and the definitions. The
HTML is a page of the suite's shell (bench.reports.page): no script, font or stylesheet
from anywhere, it works offline and holds no URL of its own. report.md says the same
without the charts, for GitHub.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.reports import capacity, charts, faults, page, parts, variants
from bench.reports.inside import inside_parts
from bench.reports.page import esc
from bench.reports.parts import Item, Part
from bench.reports.relay import relay_parts
from bench.reports.scenario_charts import scenario_charts
from bench.reports.tables import Row, Table, TCell, num
from bench.results import analysis, store
from bench.results.fields import to_json
from bench.results.files import write_text_atomic
from bench.results.model import IO_BOUND, Point, Repetitions, Run, Warning, by_scenario
from bench.results.naming import label
from bench.results.ranking import CLEAR_LEAD, CPU_PER_REQUEST, THROUGHPUT, Ranking, clear, rank

QUESTION = "Which framework and server model serves this AI endpoint best on these cores?"
SCENARIO_TEXT = {
    "hello": "GET /hello: CPU-bound, the framework's and server's own overhead.",
    "complete": "POST /complete: I/O-bound, each request waits for the mock LLM's whole answer.",
    "stream": "POST /complete/stream: the mock's tokens relayed as server-sent events.",
    "disconnect": "POST /complete/stream, each client hanging up after a few deltas: "
    "latency to the last delta read.",
}
LEAD_TEXT = f"{(CLEAR_LEAD - 1) * 100:.0f} %"

# What every number means (docs/metrics.md, in the report's own words).
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Load", "Closed loop: N users, each sending its next request as soon as its previous "
     "one ends (no think time), so the load adapts to the server. Open loop: requests "
     "arrive at a set rate (Poisson, constant or gamma gaps) whatever the answers; each "
     "one's latency counts from its intended send time (the response time), its service "
     "time from its actual send; the generator's lateness is measured and named past "
     "10 ms at p99."),
    ("Goodput (req/s)", "Requests a second that met every objective that applies to their "
     "scenario (TTFT, the longest gap between tokens, TPOT, E2E: each per request, as "
     "vLLM counts them), and the share of requests that did."),
    ("Point", "One target x scenario x load level x repetition: a warm-up that is not counted, "
     "then a measurement window of fixed length on the wall clock every process shares."),
    ("Throughput (req/s)", "Requests that completed successfully inside the window, divided "
     "by the window's length."),
    ("Errors", "Failed requests in the window, by HTTP status or by exception kind. They are "
     "not in the throughput or the latencies; above 1 % the point is invalid."),
    ("E2E latency (ms)", "From sending the request to receiving the last byte of its body, "
     "on one monotonic clock in the generator. p50/p90/p99/p99.9 are percentiles of every "
     "successful request in the window, from a histogram precise to 0.5 %."),
    ("TTFT (ms)", "Streams: from sending the request to the first event that carries "
     "non-empty text (a role-only or empty event does not count)."),
    ("TPOT (ms)", "Streams: (time of the last token - time of the first token) / (tokens - 1), "
     "per request with more than one token."),
    ("ITL (ms)", "Streams: every gap between consecutive text events, pooled over all "
     "requests; its tail shows buffering and stalls that an average hides."),
    ("Chunk fidelity", "Streams: text events received / tokens the mock emitted. Below 1, "
     "something between the mock and the client merged chunks."),
    ("Little's-law ceiling (req/s)", "I/O-bound scenarios: users / the mock's answer latency "
     "(closed loop), or the offered rate (open loop). No server can do more, since every "
     "user waits for the upstream answer."),
    ("Server-model ceiling (req/s)", "What the server model can hold at once / the answer "
     "latency: sync workers hold one request each, gthread workers one per thread."),
    ("Efficiency", "Throughput / Little's-law ceiling: how much of the possible throughput "
     "the stack delivered. This is where ASGI and WSGI differ."),
    ("Server CPU %", "CPU time of the whole server process tree (every worker) over the "
     "window / the window; 100 % is one core fully busy."),
    ("RSS (MiB)", "Peak resident memory of the whole server process tree in the window, "
     "summed over its processes."),
    ("Upstream calls", "The mock's own count of answers completed in the window. For "
     "I/O-bound scenarios it must match the completed requests."),
    ("Generator CPU %", "CPU of the load generator; above 90 % it may be the bottleneck."),
    ("Repetitions", "Each point is measured several times on fresh windows; charts and the "
     "headline use the median, tables give the min-max range."),
)  # fmt: skip


def validity_rules() -> tuple[str, ...]:
    """Return the validity rules with the thresholds bench.results.analysis applies."""
    a = analysis
    return (
        f"Invalid: more than {a.ERROR_LIMIT:.0%} of the requests failed.",
        f"Invalid: the mock's upstream calls differ from the completed requests by more than "
        f"{a.UPSTREAM_TOLERANCE:.0%} (or one cohort of in-flight users per window edge, "
        "at least 2).",
        "Invalid: no request completed in the window, or the point failed (the target died, "
        "or the generator wrote no results).",
        f"Warning: the load generator ran above {a.GENERATOR_CPU_LIMIT:.0f} % CPU per process: "
        "the figure is a lower bound.",
        f"Warning: Little's law does not hold: users / throughput is more than "
        f"{a.LITTLE_TOLERANCE:.0%} and {a.LITTLE_SLACK_MS:g} ms away from the mean latency.",
        f"Warning: repetitions disagree: throughput standard deviation at least "
        f"{a.REPEAT_STDEV_LIMIT:.0%} of the mean, or range at least {a.REPEAT_RANGE_LIMIT:.0%}.",
        f"Warning (hello, closed loop): within {a.CALIBRATION_MARGIN:.0%} of the "
        "framework-less baseline-uvicorn at the same load: generator- or stack-bound, a lower "
        "bound.",
        f"Warning (open loop): the achieved rate fell more than {a.RATE_SHORTFALL_LIMIT:.0%} "
        "short of the target rate.",
        "Warning (stream): chunk fidelity below 0.99.",
    )


MEDIANS = "Medians over repetitions, with (min\N{EN DASH}max) when they differ."
POINTS_NOTE = (
    "⚠n next to a number: warning n of that row (last column). Invalid rows (✗) are kept, "
    "never averaged in."
)
READING = (
    "Start with the headline, then check its points in the tables: a ⚠ next to a number "
    "points to a warning in the same row, and an invalid row (✗) is kept but must not be "
    "trusted. Throughput says how much, latency percentiles say how it felt, efficiency "
    "says how much of the Little's-law ceiling a stack reached, and server CPU says what "
    "it cost. With one repetition, differences of a few percent are noise; compare runs "
    "with `bench compare`. docs/methodology.md in the suite explains how each point is "
    "measured and the known limits."
)


EFFICIENCY = ("efficiency",)


# The headline: the ranking is bench.results.ranking's; the words are these.


def _rps(value: float | None) -> str:
    return "-" if value is None else f"{charts.format_value(value)} req/s"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def _flag(level: Repetitions) -> str:
    if level.invalid:
        return " ✗ (invalid points)"
    return " ⚠ (warnings)" if level.warned else ""


def _interval(v: Ranking, level: Repetitions) -> str:
    found = v.spans.get(level.level)
    if found is None:
        return ""
    low, high = (charts.format_value(x) if x != float("inf") else "?" for x in found)
    return f" [{low} to {high}]"


def _figure(v: Ranking, level: Repetitions, value: float) -> str:
    if v.by_cpu:
        per_cpu_s = f"~{charts.format_value(value)}{_interval(v, level)} per CPU-second"
        return f"{1e6 / value:,.0f} µs of server CPU per request ({per_cpu_s})"
    return f"{_rps(value)}{_interval(v, level)}"


def _comparison(v: Ranking) -> str:
    """Compare the first two ranked targets: who leads, by what ratio, at what efficiency."""
    (first, best), (second, other) = v.ranked[0], v.ranked[1]
    # A valid point completed requests, so `other` is above zero; the guard is for hand edits.
    ratio = f"{best / max(other, 1e-9):.2f}x"
    one = f"{_figure(v, first, best)}{_flag(first)}"
    two = f"{_figure(v, second, other)}{_flag(second)}"
    if v.leader is None:
        why = (
            f"are within {LEAD_TEXT}"
            if not clear(best, other)
            else "overlap in their 95 % intervals"
        )
        text = (
            f"no clear lead: {v.name(first)} ({one}) and {v.name(second)} ({two}) {why} ({ratio})"
        )
    else:
        text = f"{v.name(first)} leads with {one}, {ratio} the runner-up {v.name(second)} ({two})"
        missing = v.without_interval()
        if missing:
            text += f" (no 95 % interval for {_join(missing)}: the ratio alone decides)"
    if v.scenario in IO_BOUND:
        text += (
            f"; efficiency {_pct(first.median(EFFICIENCY, True))} against "
            f"{_pct(second.median(EFFICIENCY, True))} of the Little's-law ceiling"
        )
    return text


def ranking_sentence(v: Ranking) -> str:
    """Say who leads the scenario, by what ratio, and (I/O-bound) at what efficiency."""
    unranked = ", ".join(v.name(lv) for lv in v.unranked)
    if not v.ranked and not v.unranked:
        text = "only calibration targets were measured"
    elif not v.ranked:
        text = f"no valid point to rank ({unranked}: only invalid or failed points)"
    elif len(v.ranked) == 1:
        level, rps = v.ranked[0]
        text = f"{v.name(level)} is the only target with a valid point ({_figure(v, level, rps)})"
    else:
        text = _comparison(v)
    if v.by_cpu:
        why = (
            "every target served the offered rate"
            if v.offered
            else "the load generator bound the throughput"
        )
        text = f"{why}, so ranked by the server CPU each request cost: {text}"
    if v.ranked and v.unranked:
        text += f"; not ranked (only invalid or failed points): {unranked}"
    for level in v.reference:
        if v.offered:
            cost = level.median(CPU_PER_REQUEST, True)
            spent = "-" if cost is None else f"{cost:,.0f} µs of server CPU per request"
            text += f"; the framework-less {v.name(level)} costs {spent}"
        else:
            reached = _rps(level.median(THROUGHPUT))
            text += f"; the framework-less {v.name(level)} reaches {reached}"
        text += _flag(level)
    return f"{v.scenario} at {v.load}: {text}."


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def overall_sentence(rankings: Sequence[Ranking]) -> str:
    """Say in one sentence who leads which scenario."""
    leads: dict[str, list[str]] = {}
    alone: dict[str, list[str]] = {}
    for v in rankings:
        if v.leader is not None:
            (leads if len(v.ranked) > 1 else alone).setdefault(v.leader, []).append(v.scenario)
    parts = []
    if len(leads) == 1 and sum(map(len, leads.values())) == len(rankings) > 1:
        parts.append(f"{next(iter(leads))} leads every scenario measured")
    else:
        parts += [f"{target} leads {_join(names)}" for target, names in leads.items()]
    parts += [
        f"{target} is the only target ranked in {_join(names)}" for target, names in alone.items()
    ]
    tied = [v.scenario for v in rankings if v.leader is None and len(v.ranked) > 1]
    if tied:
        verb = "has" if len(tied) == 1 else "have"
        parts.append(
            f"{_join(tied)} {verb} no clear lead (the top two within {LEAD_TEXT} or their "
            "95 % intervals overlapping)"
        )
    empty = [v.scenario for v in rankings if not v.ranked]
    if empty:
        parts.append(f"{_join(empty)}: no valid point to rank")
    return "; ".join(parts) + "." if parts else "Nothing to rank."


def validity_sentence(run: Run) -> str:
    """Count the points with warnings, the invalid and failed ones, and skipped targets."""
    points = run.points
    warned = sum(1 for p in points if p.warnings)
    invalid = sum(1 for p in points if not p.valid)
    failed = sum(1 for p in points if not p.ok)
    skipped = len(run.info.skipped_targets)
    if warned == 0 and invalid == 0:
        text = f"All {len(points)} points passed every validity check"
    else:
        verb = "carries" if warned == 1 else "carry"
        text = f"{warned} of {len(points)} points {verb} warnings ({invalid or 'none'} invalid"
        text += f", {failed} failed)" if failed else ")"
    if skipped:
        text += f"; {skipped} target{'s' if skipped > 1 else ''} skipped (listed below)"
    return text + "."


def cores_phrase(run: Run) -> str:
    """Return e.g. "On 1 server core (AMD EPYC)"."""
    count = len(run.environment.server_cpus)
    return f"On {count} server core{'s' if count != 1 else ''} ({run.environment.cpu_model})"


@dataclass(frozen=True)
class Headline:
    """The question, the answer and what the answer stands on."""

    answer: str
    details: list[str]
    conditions: str
    run_line: str


def capacity_leads(run: Run) -> bool:
    """Whether the capacity searches lead the headline: a run of searches only."""
    return bool(run.capacity) and not run.points


def headline(run: Run, grouped: dict[str, list[Repetitions]]) -> Headline:
    """Derive the headline from the points (and the capacity searches, which lead)."""
    if capacity_leads(run):
        return _capacity_headline(run)
    rankings = [rank(scenario, found) for scenario, found in grouped.items()]
    overall = overall_sentence(rankings)
    answer = f"{cores_phrase(run)}, {overall[0].lower()}{overall[1:]} "
    answer += validity_sentence(run)
    details = [ranking_sentence(v) for v in rankings]
    return Headline(answer, details, run.conditions(), _run_line(run))


def _run_line(run: Run) -> str:
    info = run.info
    return (
        f"Run {info.id}, {info.started_at} to {info.finished_at or 'unfinished'}, "
        f"git commit {info.git_commit or 'unknown'}, preset {info.preset or 'none'}."
    )


def _capacity_headline(run: Run) -> Headline:
    """A capacity run's headline: its searches, each figure with what binds it."""
    unknown = sum(1 for c in run.capacity if c.unknown)
    answer = (
        f"{cores_phrase(run)}, {len(run.capacity)} capacity searches"
        + (f", {unknown} of them with something unknown (said in the table)" if unknown else "")
        + "."
    )
    return Headline(answer, capacity.sentences(run.capacity), run.conditions(), _run_line(run))


# Tables: one model, rendered as Markdown and as HTML


def _median_range(
    level: Repetitions, path: Sequence[str], fmt: Callable[[float | None], str]
) -> str:
    text = fmt(level.median(path))
    span = level.span(path)
    if span is None or fmt(span[0]) == fmt(span[1]):
        return text
    return f"{text} ({fmt(span[0])}\N{EN DASH}{fmt(span[1])})"


def _row_css(points: Sequence[Point]) -> str:
    if any(not p.valid for p in points):
        return "invalid"
    return "warned" if any(p.warnings for p in points) else ""


def _status(points: Sequence[Point]) -> str:
    if any(not p.ok for p in points):
        return "✗ failed"
    css = _row_css(points)
    return {"invalid": "✗ INVALID", "warned": "⚠ warnings"}.get(css, "ok")


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} %"


def _binds(points: Sequence[Point]) -> str:
    """The limit kinds of the repetitions (one when they agree)."""
    kinds = list(dict.fromkeys(p.limit.kind for p in points if p.limit is not None))
    return " / ".join(kinds) or "-"


Column = tuple[str, tuple[str, ...], Callable[[float | None], str]]
MEDIAN_COLUMNS: tuple[Column, ...] = (
    ("req/s median (min\N{EN DASH}max)", THROUGHPUT, num),
    ("p50 ms", ("latency_ms", "p50"), num),
    ("p99 ms", ("latency_ms", "p99"), num),
)
IO_COLUMNS: tuple[Column, ...] = (("efficiency", EFFICIENCY, _pct),)
GOODPUT_COLUMNS: tuple[Column, ...] = (
    ("goodput req/s", ("goodput_rps",), num),
    ("met objectives", ("met_share",), _pct),
)
OPEN_COLUMNS: tuple[Column, ...] = (
    ("service p99 ms", ("service_ms", "p99"), num),
    ("generator late p99 ms", ("lateness_ms", "p99"), num),
)
RESOURCE_COLUMNS: tuple[Column, ...] = (
    ("server CPU", ("server", "cpu_pct"), _cpu),
    ("CPU µs per request", ("cpu_us_per_request",), num),
    ("RSS MiB", ("server", "rss_mb"), num),
)
STREAM_COLUMNS: tuple[Column, ...] = (
    ("TTFT p50 ms", ("ttft_ms", "p50"), num),
    ("TPOT p50 ms", ("tpot_ms", "p50"), num),
    ("ITL p99 ms", ("itl_ms", "p99"), num),
    ("chunk fidelity", ("chunk_fidelity",), num),
)


def scenario_table(scenario: str, found: list[Repetitions]) -> Table:
    """One row per target and load: medians over repetitions, with min-max."""
    columns = MEDIAN_COLUMNS
    if any(level.median(("goodput_rps",)) is not None for level in found):
        columns += GOODPUT_COLUMNS
    if scenario in IO_BOUND:
        columns += IO_COLUMNS
    if any(level.load.open_loop for level in found):
        columns += OPEN_COLUMNS
    columns += RESOURCE_COLUMNS
    if scenario == "stream":
        columns += STREAM_COLUMNS
    rows = []
    for level in found:
        cells = [
            TCell(label(level, found), numeric=False),
            TCell(level.load.label(), numeric=False),
            TCell(str(len(level.points))),
        ]
        cells += [TCell(_median_range(level, path, fmt)) for _, path, fmt in columns]
        cells.append(TCell(_status(level.points), numeric=False))
        cells.append(TCell(_binds(level.points), numeric=False, wrap=True))
        rows.append(Row(cells, _row_css(level.points)))
    headers = ["target", "load", "reps", *(name for name, _, _ in columns), "status"]
    headers.append("what binds it")
    return Table(headers, rows)


# Which column a warning concerns, by its code; the rest go to req/s.
WARNING_COLUMNS = {
    analysis.ERRORS: "errors",
    analysis.UPSTREAM_MISMATCH: "upstream",
    analysis.LITTLES_LAW: "p50",
    analysis.RATE_SHORTFALL: "load",
}
# (key, header) of the every-point table
POINT_COLUMNS = (
    ("target", "target"),
    ("scenario", "scenario"),
    ("load", "load"),
    ("rep", "rep"),
    ("rps", "req/s"),
    ("p50", "p50 ms"),
    ("p90", "p90 ms"),
    ("p99", "p99 ms"),
    ("p999", "p99.9 ms"),
    ("efficiency", "efficiency"),
    ("cpu", "server CPU"),
    ("cpu_us", "CPU µs per request"),
    ("rss", "RSS MiB"),
    ("errors", "errors"),
    ("upstream", "upstream calls / requests"),
    ("status", "status"),
    ("limit", "what binds it"),
    ("warnings", "warnings"),
)


def warning_column(warning: Warning) -> str:
    """Return the key of the column a warning is about."""
    return WARNING_COLUMNS.get(warning.code, "rps")


def _errors(point: Point) -> str:
    failed = point.failed_requests
    if not failed:
        return "0"
    total = failed + point.requests
    kinds = ", ".join(f"{kind}: {count}" for kind, count in sorted(point.errors.items()))
    return f"{failed} ({failed / total:.1%}; {kinds})"


def _upstream(point: Point) -> str:
    calls = point.upstream_calls
    return "-" if calls is None else f"{calls:,} / {point.requests:,}"


def point_row(point: Point, name: str | None = None) -> Row:
    """One point: its figures, each warning's number next to the figure it concerns."""
    texts = {
        "target": name or point.target,
        "scenario": point.scenario,
        "load": point.load.label(),
        "rep": str(point.repetition),
        "rps": num(point.value(THROUGHPUT)),
        **{key: num(point.value(("latency_ms", key))) for key in ("p50", "p90", "p99", "p999")},
        "efficiency": _pct(point.value(EFFICIENCY)),
        "cpu": _cpu(point.value(("server", "cpu_pct"))),
        "cpu_us": num(point.cpu_us_per_request),
        "rss": num(point.value(("server", "rss_mb"))),
        "errors": _errors(point),
        "upstream": _upstream(point),
        "status": _status([point]),
        "limit": "-" if point.limit is None else f"{point.limit.kind}: {point.limit.detail}",
    }
    cells = {key: TCell(text) for key, text in texts.items()}
    for key in ("target", "scenario", "load", "status", "limit"):
        cells[key].numeric = False
    cells["limit"].wrap = True
    notes = []
    for number, warning in enumerate(point.warnings, start=1):
        cells[warning_column(warning)].marks.append(number)
        notes.append(f"⚠{number} {warning.display()}")
    cells["warnings"] = TCell("; ".join(notes), numeric=False, wrap=True)
    return Row([cells[key] for key, _ in POINT_COLUMNS], _row_css([point]))


def points_table(grouped: dict[str, list[Repetitions]]) -> Table:
    """Every point of the run, none dropped, in scenario, target, load, repetition order."""
    levels = [level for found in grouped.values() for level in found]
    rows = [
        point_row(point, label(level, levels))
        for level in levels
        for point in sorted(level.points, key=lambda p: p.repetition)
    ]
    return Table([header for _, header in POINT_COLUMNS], rows)


def environment_table(run: Run) -> Table:
    """Machine, cores, Python, the mock's settings and every package version."""
    env, mock, info = to_json(run.environment), to_json(run.mock), to_json(run.info)
    keys = ("host", "os", "cpu_model", "cores", "usable_cores", "server_cpus", "load_cpus")
    rows: list[tuple[str, Any]] = [(key, env[key]) for key in (*keys, "python") if key in env]
    rows += [(f"mock {key}", value) for key, value in mock.items()]
    rows += [(f"run {key}", value) for key, value in info.items() if key != "skipped_targets"]
    rows += [(f"package {name}", version) for name, version in sorted(env["packages"].items())]
    return Table(
        ["what", "value"],
        [
            Row([TCell(k, numeric=False), TCell(_plain(v), numeric=False, wrap=True)])
            for k, v in rows
        ],
    )


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


# Failures


def failures(run: Run) -> list[tuple[str, str, str]]:
    """Return (what, first line of the reason, the rest) for failed points and skipped targets."""
    found = []
    for point in run.points:
        if not point.ok:
            what = (
                f"{label(point, run.points)} {point.scenario} at {point.load.label()}, "
                f"repetition {point.repetition}"
            )
            warnings = "; ".join(w.display() for w in point.warnings)
            reason = point.failure or warnings
            first, _, rest = reason.partition("\n")
            found.append((f"point {what} failed", first, rest))
    for skipped in run.info.skipped_targets:
        first, _, rest = skipped.reason.partition("\n")
        found.append((f"target {skipped.target} skipped", first, rest))
    return found


# The report: a headline, then parts in order


@dataclass(frozen=True)
class Report:
    """Everything a report says, before it becomes Markdown or HTML."""

    title: str
    headline: Headline
    parts: list[Part]


# A report's parts: each function turns the run into its parts (none when the run did
# not measure what it shows), in the order the report prints them. A new table is one
# such function (bench.reports.faults and bench.reports.variants are examples), listed
# here; Markdown and HTML follow from the Part (bench.reports.parts).
PartsOf = Callable[[Run, bool], list[Part]]


def capacity_parts(run: Run, with_charts: bool) -> list[Part]:
    """The capacity searches: their sentences (unless the headline says them), the table."""
    if not run.capacity:
        return []
    # A run of searches only leads its headline with these sentences: not twice.
    sentences = [] if capacity_leads(run) else capacity.sentences(run.capacity)
    return [
        Part(
            "Capacity",
            "capacity",
            capacity.INTRO,
            [Item(line) for line in sentences],
            capacity.table(run.capacity),
            capacity.chart_svgs(run.capacity) if with_charts else [],
        )
    ]


def fault_parts(run: Run, with_charts: bool) -> list[Part]:
    """Upstream faults, client disconnects and soaks, when the run measured them."""
    return faults.sections(run.points)


def scenario_parts(run: Run, with_charts: bool) -> list[Part]:
    """One part per scenario: its table of medians and its charts."""
    return [
        Part(
            f"Scenario: {name}",
            f"scenario-{name}",
            f"{SCENARIO_TEXT.get(name, '')} {MEDIANS}",
            table=scenario_table(name, found),
            charts=scenario_charts(name, found, run) if with_charts else [],
        )
        for name, found in by_scenario(run.points).items()
    ]


def point_parts(run: Run, with_charts: bool) -> list[Part]:
    """Every point, and every step of the capacity searches."""
    found = []
    if run.points:
        table = points_table(by_scenario(run.points))
        found.append(Part("Every point", "points", POINTS_NOTE, table=table))
    if run.capacity:
        table = capacity.points_table(run.capacity)
        found.append(Part("Every point of the capacity searches", "capacity-points", table=table))
    return found


def failure_parts(run: Run, with_charts: bool) -> list[Part]:
    """Failed points and skipped targets, with their logs."""
    items = [Item(first, what, rest) for what, first, rest in failures(run)]
    return [Part("Failed points and skipped targets", "failures", items=items, empty="None.")]


def variant_parts(run: Run, with_charts: bool) -> list[Part]:
    """The package variants' versions, when targets carried pins."""
    table = variants.table(run)
    return (
        [] if table is None else [Part("Package variants", "variants", variants.NOTE, table=table)]
    )


def environment_parts(run: Run, with_charts: bool) -> list[Part]:
    """The machine, the mock and every package; then what the numbers mean."""
    return [
        Part("Environment", "environment", table=environment_table(run)),
        Part(
            "Metric definitions",
            "definitions",
            items=[Item(meaning, term) for term, meaning in DEFINITIONS],
        ),
        Part("Validity rules", "validity", items=[Item(rule) for rule in validity_rules()]),
        Part("How to read this report", "reading", READING),
    ]


PARTS: tuple[PartsOf, ...] = (
    capacity_parts,
    fault_parts,
    scenario_parts,
    relay_parts,
    inside_parts,
    point_parts,
    failure_parts,
    variant_parts,
    environment_parts,
)


def build(run: Run, with_charts: bool = True) -> Report:
    """Derive the whole report from a run."""
    return Report(
        title=f"Benchmark report: run {run.info.id}",
        headline=headline(run, by_scenario(run.points)),
        parts=[part for parts_of in PARTS for part in parts_of(run, with_charts)],
    )


def to_markdown(report: Report) -> str:
    """Render the report as Markdown: the HTML's content without the charts."""
    h = report.headline
    out = [f"# {report.title}", "", f"**{QUESTION}**", "", h.answer, ""]
    out += [f"- {line}" for line in h.details]
    out += ["", f"Conditions: {h.conditions}.", "", h.run_line, ""]
    for part in report.parts:
        out += parts.markdown(part)
    return "\n".join(out)


def _lead(headline: Headline) -> str:
    details = "".join(f"<li>{esc(line)}</li>" for line in headline.details)
    return (
        f'<p class="question">{esc(QUESTION)}</p><p class="answer">{esc(headline.answer)}</p>'
        + (f"<ul>{details}</ul>" if details else "")
    )


def to_html(report: Report) -> str:
    """Render the report as one self-contained HTML page with inline SVG charts."""
    h = report.headline
    return page.render(
        page.Page(
            report.title,
            parts.sections(report.parts),
            conditions=[f"Conditions: {h.conditions}.", h.run_line],
            lead=_lead(h),
            kind="report",
        )
    )


# Files


def load_for_report(run_dir: str | Path) -> Run:
    """Load a run's results; raise ResultsError (one line) when there is nothing to report."""
    run = store.load(run_dir)
    if not run.points and not run.capacity:
        skipped = run.info.skipped_targets
        names = ", ".join(s.target for s in skipped)
        why = f" ({len(skipped)} target(s) skipped: {names})" if skipped else ""
        raise store.ResultsError(
            f"{store.results_path(run_dir)}: the run has no points, nothing to report{why}"
        )
    return run


def write_report(run_dir: Path) -> tuple[Path, Path]:
    """Write run_dir/report.md and run_dir/report.html; return their paths."""
    run = load_for_report(run_dir)
    folder = store.results_path(run_dir).parent
    report = build(run)
    md_path, html_path = folder / "report.md", folder / "report.html"
    write_text_atomic(md_path, to_markdown(report))
    write_text_atomic(html_path, to_html(report))
    return md_path, html_path
