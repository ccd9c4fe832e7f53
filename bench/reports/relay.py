"""The report's "What each stack adds to every token": the relay's cost per token.

Pure rendering of bench.results.tokens: for every stream level of a run against the
mock, the TTFT and ITL each stack added to the mock's set schedule, the jitter, the
fidelity of the chunks and the CPU each token cost, ranked by the TTFT added.
"""

from __future__ import annotations

from bench.reports.parts import Part
from bench.reports.tables import Row, Table, TCell, num
from bench.results.model import Run
from bench.results.tokens import relay_costs

INTRO = (
    "What each framework and server model adds to every token of a stream, beyond the "
    "mock's set schedule (its TTFT, then a token every ITL): TTFT added (measured minus "
    "the mock's, p50 and p99), ITL added at p50 and its jitter at p99 (measured minus the "
    "mock's interval), fidelity (deltas received per token sent: 1 when nothing merges or "
    "splits them) and the server's CPU per token. Streams at LLM latency with thousands "
    "in flight are where the stacks differ; each row is one stream level (medians over "
    "its repetitions), ranked by the TTFT added."
)
BURSTS = (
    " An ITL added below minus half the mock's interval ({}) means most tokens reached the "
    "client together: held back on the way and delivered in bursts, the gaps between "
    "bursts in the jitter."
)
HEADERS = ["target", "load", "TTFT added p50 ms", "TTFT added p99 ms", "ITL added p50 ms",
           "ITL jitter p99 ms", "fidelity", "CPU µs per token"]  # fmt: skip


def relay_parts(run: Run, with_charts: bool) -> list[Part]:
    """The cost-per-token table, when the run streamed against the mock."""
    costs = relay_costs(run.points, run.mock)
    if not costs:
        return []
    rows = [
        Row([
            TCell(cost.target, numeric=False),
            TCell(cost.label, numeric=False),
            TCell(num(cost.ttft_added_p50_ms)),
            TCell(num(cost.ttft_added_p99_ms)),
            TCell(num(cost.itl_added_p50_ms)),
            TCell(num(cost.itl_jitter_p99_ms)),
            TCell(num(cost.fidelity)),
            TCell(num(cost.cpu_us_per_token)),
        ])
        for cost in costs
    ]  # fmt: skip
    bursts = [f"{cost.target} at {cost.label}" for cost in costs if cost.in_bursts]
    intro = INTRO + (BURSTS.format(", ".join(bursts)) if bursts else "")
    return [Part("What each stack adds to every token", "relay", intro, table=Table(HEADERS, rows))]
