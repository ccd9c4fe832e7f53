"""`bench demo all` and `bench demo claims`: every demo in teaching order, then the handout.

The demos run in bench.demos.catalog's teaching order, and last the tutorials' claims
against everything measured before. Each demo writes its own folder (NN-<name>/) inside
the suite's folder; the handout (bench.demos.handout) is rendered from those folders at
the end.

The claims measure what no demo does (hello and complete req/s per core of each
framework on its default server) and take the rest from the demos run before them: the
streams of streaming-ttft and the ramps of concurrency. Run alone, they measure streams
too and run the concurrency demo's ramps into a subfolder.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.demos import catalog, claims, handout, mechanisms
from bench.demos.perform import run_demo
from bench.results import store
from bench.results.model import Load, Run
from bench.running.live import LiveView
from bench.running.plan import MockSettings, Plan, default_cpus
from bench.running.progress import LiveProgress
from bench.running.runner import Options, Runner, new_run_id
from bench.running.targets import DEFAULT_TARGETS

CLAIMS = "claims"  # the claims come last: they draw on every demo run before them
# The claims' own points: a short upstream (140 ms answers) so that `complete` at 200
# users offers 1,429 req/s, more than one core serves in most stacks; `hello` at 50 users.
CLAIMS_MOCK = MockSettings(ttft_ms=100.0, itl_ms=10.0, tokens=5)
CLAIMS_USERS = {"hello": 50, "complete": 200, "stream": 10}


def order() -> list[str]:
    """What `bench demo all` runs: every demo in teaching order, then the claims."""
    return [*catalog.names(), CLAIMS]


class Ports:
    """Where the demos start their servers."""

    def __init__(self, port: int = 8000, mock_port: int = 8900) -> None:
        self.port, self.mock_port = port, mock_port


def claims_plan(
    with_stream: bool, duration_s: float | None = None, warmup_s: float | None = None
) -> Plan:
    """The claims' points: each framework's default target on hello, complete (and stream)."""
    server, load = default_cpus()
    scenarios = ["hello", "complete", *(["stream"] if with_stream else [])]
    return Plan(
        targets=list(DEFAULT_TARGETS),
        scenarios=scenarios,
        loads={s: [Load("users", CLAIMS_USERS[s])] for s in scenarios},
        duration_s=duration_s or 2.0,
        warmup_s=warmup_s or 1.0,
        repeat=1,
        mock=CLAIMS_MOCK,
        server_cpus=server,
        load_cpus=load,
        preset="demo:claims",
    )


def _has_stream(runs: list[Run]) -> bool:
    return any(p.ok and p.scenario == "stream" for run in runs for p in run.points)


def _verdict_table(verdicts: list[claims.Verdict]) -> Table:
    table = Table(title="claims", title_justify="left")
    for column in ("claim", "the tutorials say", "verdict here"):
        table.add_column(column)
    for v in verdicts:
        table.add_row(v.claim.topic, v.claim.says, v.verdict)
    return table


def _write_claims(folder: Path, runs: list[Run], verdicts: list[claims.Verdict]) -> None:
    """The claims' own page (demo.html, demo.md, chart.svg) beside their results."""
    svg = claims.chart(runs)
    (folder / "chart.svg").write_text(svg)
    (folder / "demo.md").write_text(
        f"# Demo: claims\n\n**Question.** {claims.QUESTION}\n\n**Prediction.** "
        f"{claims.PREDICTION}\n\n{claims.markdown_table(verdicts)}\nThresholds: "
        f"{claims.THRESHOLDS}\n\n![chart](chart.svg)\n\n{mechanisms.CLAIMS.markdown()}"
    )
    # The page is the handout of this one folder, with the verdicts drawn from `runs`
    # (in `bench demo all`, the demos run before the claims as well).
    page = handout.render(handout.load_sections(folder), claims_runs=runs)
    (folder / "demo.html").write_text(page)


def run_claims(
    console: Console,
    *,
    quick: bool = False,
    out: Path | None = None,
    ports: Ports | None = None,
    earlier: list[Run] | None = None,
    live: LiveView | None = None,
    duration_s: float | None = None,
    warmup_s: float | None = None,
) -> tuple[Path, list[claims.Verdict]]:
    """Measure the claims (reusing `earlier` demos' streams and ramps); return the verdicts."""
    ports = ports or Ports()
    earlier = earlier or []
    folder = out or Path("results") / f"demo-claims-{new_run_id()}"
    console.print(f"[bold]Demo claims[/]{' (quick)' if quick else ''}")
    console.print(f"[bold]Question:[/] {claims.QUESTION}")
    console.print(f"[bold]Prediction:[/] {claims.PREDICTION}")
    plan = claims_plan(not _has_stream(earlier), duration_s, warmup_s)
    if live is not None:
        live.section("The common claims, measured", claims.QUESTION)
    runner = Runner(plan, Options(out=folder, port=ports.port, mock_port=ports.mock_port,
                                  observer=live))  # fmt: skip
    with LiveProgress(console, runner.tasks(), plan) as progress:
        if live is not None:
            live.listen(progress.rate)
        run = runner.execute(progress.update)
    runs = [run, *earlier]
    if not any(run.capacity for run in runs):
        ramp_folder, _ = run_demo(
            catalog.find("concurrency"), console, quick=quick, out=folder / "concurrency",
            port=ports.port, mock_port=ports.mock_port, live=live,
        )  # fmt: skip
        runs.append(store.load(ramp_folder))
    verdicts = claims.evaluate(runs)
    console.print(_verdict_table(verdicts))
    console.print(claims.text(verdicts))
    console.print(mechanisms.CLAIMS.terminal())
    _write_claims(folder, runs, verdicts)
    console.print(f"chart and report: {folder / 'demo.html'}")
    return folder, verdicts


def run_all(
    console: Console,
    *,
    quick: bool = False,
    out: Path | None = None,
    ports: Ports | None = None,
    only: list[str] | None = None,
    live: LiveView | None = None,
    duration_s: float | None = None,
    warmup_s: float | None = None,
) -> Path:
    """Run the demos (all, or `only` these) in teaching order; write the handout; return it."""
    ports = ports or Ports()
    folder = out or Path("results") / f"demo-all-{new_run_id()}"
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name in order() if not only or name in only]
    started = time.monotonic()
    earlier: list[Run] = []
    for index, name in enumerate(names, 1):
        console.rule(f"{index}/{len(names)} {name}")
        sub = folder / f"{index:02d}-{name}"
        if name == CLAIMS:
            run_claims(console, quick=quick, out=sub, ports=ports, earlier=earlier, live=live,
                       duration_s=duration_s, warmup_s=warmup_s)  # fmt: skip
            continue
        run_demo(catalog.find(name), console, quick=quick, out=sub, port=ports.port,
                 mock_port=ports.mock_port, duration_s=duration_s, warmup_s=warmup_s,
                 live=live)  # fmt: skip
        earlier.append(store.load(sub))
    wall_s = round(time.monotonic() - started, 1)
    suite = {
        "demos": names,
        "quick": quick,
        "wall_time_s": wall_s,
        "command": " ".join(["bench", *sys.argv[1:]]),
    }
    (folder / handout.SUITE_NAME).write_text(json.dumps(suite, indent=2) + "\n")
    path = handout.write_handout(folder)
    console.print(f"demo all: {len(names)} demos in {wall_s / 60:.1f} min")
    console.print(f"handout: {path}")
    return path
