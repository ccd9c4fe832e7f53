"""`bench run`: start the mock and each target, verify, measure every point, store it.

The data flow (docs/architecture.md): plan -> mock -> target -> verify -> for each load:
warm-up, then a window driven by Locust while the server tree, the generator and the
mock are sampled -> analyse -> append to results.json (atomic) -> next target.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.results import analysis, store
from bench.results.model import (
    Deployment,
    Environment,
    MockInfo,
    Point,
    Run,
    RunInfo,
    SkippedTarget,
)
from bench.running import environment, variants
from bench.running.launch import Progress
from bench.running.launch import Skipped as TargetSkipped
from bench.running.measure import PointRun, PointTask, Server
from bench.running.observe import Observer
from bench.running.plan import MockSettings, Plan
from bench.running.rules import require
from bench.running.session import Interrupted, Session, now_iso
from bench.running.targets import Counts, Target
from bench.running.upstream import Upstream, choose

# Interrupted lives with the session that raises it; the command layer catches it here.
__all__ = ["Interrupted", "MockDied", "Options", "Runner", "new_run", "new_run_id", "run_folder"]


@dataclass
class Options:
    """How to run a plan on this machine (not part of what is measured)."""

    out: Path
    port: int = 8000
    mock_port: int = 8900
    target_url: str | None = None
    mock_url: str | None = None
    command: list[str] = field(default_factory=lambda: list(sys.argv))
    # An external deployment's CPU quota for its server, in cores, as the deployment
    # sets it (compose's `cpus:`): recorded, since the suite cannot see it from here.
    server_quota: float | None = None
    # A real OpenAI-compatible upstream instead of the mock (its key only from here).
    upstream_url: str | None = None
    upstream_model: str | None = None
    upstream_key: str | None = field(default=None, repr=False)
    # Every request's row into <out>/requests/, the mock's request log and the services'
    # access lines beside them (bench.running.requests).
    save_requests: bool = False

    @property
    def requests_dir(self) -> Path | None:
        return self.out / "requests" if self.save_requests else None

    def __post_init__(self) -> None:
        """Refuse settings that contradict each other about the upstream (PlanError)."""
        require(
            not (self.upstream_url and self.target_url),
            "--upstream-url points the targets the runner starts at another upstream; a "
            "deployment given with --target-url already has its own",
        )
        require(
            not (self.upstream_url and self.mock_url),
            "give --upstream-url or --mock-url, not both",
        )
        require(
            self.upstream_url or not (self.upstream_key or self.upstream_model),
            "--upstream-key and --upstream-model go with --upstream-url",
        )
        require(
            self.target_url or not self.mock_url,
            "--mock-url reads a deployment's mock: give --target-url too",
        )
        require(
            self.target_url or not self.server_quota,
            "--server-quota describes a deployment given with --target-url",
        )

    def upstream(self) -> Upstream:
        """What the targets call (bench.running.upstream)."""
        return choose(
            mock_port=self.mock_port,
            target_url=self.target_url,
            mock_url=self.mock_url,
            upstream_url=self.upstream_url,
            upstream_model=self.upstream_model,
            upstream_key=self.upstream_key,
        )

    # A live view (--live, bench.running.live) told about every point as it runs.
    observer: Observer | None = None


class MockDied(RuntimeError):
    """The mock LLM exited: every later point would measure failures, so the run stops."""


def redacted(argv: list[str]) -> list[str]:
    """The command line with any API key replaced: results never hold a key."""
    shown: list[str] = []
    hide = False
    for arg in argv:
        if hide:
            shown.append("***")
        elif arg.startswith("--upstream-key="):
            shown.append("--upstream-key=***")
        else:
            shown.append(arg)
        hide = arg == "--upstream-key"
    return shown


def new_run_id() -> str:
    """Return a sortable run id: UTC time to the second."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")


def mock_info(mock: MockSettings, upstream: Upstream) -> MockInfo:
    """The mock's settings (or what is known of another upstream) as results record them."""
    external = upstream.kind != "mock"
    return MockInfo(
        ttft_ms=mock.ttft_ms,
        itl_ms=mock.itl_ms,
        output_tokens=mock.tokens,
        jitter=mock.jitter,
        answer_latency_ms=mock.latency_ms() if upstream.latency_set else None,
        external=external,
        length_spread=mock.length_spread,
        upstream=upstream.describe() if external else None,
    )


def _environment(plan: Plan, options: Options) -> Environment:
    # An external deployment's server runs on cores this machine does not choose.
    server_cpus = [] if options.target_url else plan.server_cpus
    env = environment.capture(server_cpus, plan.load_cpus)
    if options.target_url:
        env.server = Deployment(options.target_url, options.server_quota)
    return env


def new_run(plan: Plan, options: Options) -> Run:
    """Return the results document of a run that has not measured anything yet."""
    return Run(
        schema_version=store.SCHEMA_VERSION,
        info=RunInfo(
            id=options.out.name,
            started_at=now_iso(),
            finished_at=None,
            command=" ".join(redacted(options.command)),
            preset=plan.preset,
            git_commit=environment.git_commit(),
            target_url=options.target_url,
        ),
        environment=_environment(plan, options),
        mock=mock_info(plan.mock, options.upstream()),
        plan=plan.to_dict(),
    )


class Runner:
    """Measures a plan; writes results.json after every point."""

    def __init__(self, plan: Plan, options: Options, run: Run | None = None):
        plan.check_options(options)  # here, so that no way of making a runner skips them
        self.plan = plan
        self.options = options
        self.session = Session(options, plan.server_cpus, plan.load_cpus, plan.target_env())
        self.path = self.session.path
        self.run = run or new_run(plan, options)
        self.launcher = self.session.launcher(plan.mock.tokens)
        self._mock_proc: subprocess.Popen[bytes] | None = None

    @property
    def points(self) -> list[Point]:
        return self.run.points

    def _save(self) -> None:
        self.run.points = analysis.finish(self.run.points)
        store.save(self.path, self.run)

    def tasks(self) -> list[PointTask]:
        """The points still to measure (those already in the results are kept on --resume)."""
        done = {(p.target, p.scenario, p.load, p.repetition) for p in self.run.points}
        tasks = [PointTask(*spec) for spec in self.plan.points()]
        return [task for task in tasks if task.key() not in done]

    # --- the run -------------------------------------------------------------------

    def execute(self, progress: Progress) -> Run:
        """Measure every remaining point; stop everything on the way out."""
        with self.session.running(self.run, self._save):
            tasks = self.tasks()
            if tasks:
                with self.session.mock(self.plan.mock) as self._mock_proc:
                    self._run_targets(tasks, progress)
        return self.run

    def _run_targets(self, tasks: list[PointTask], progress: Progress) -> None:
        by_target: dict[str, list[PointTask]] = {}
        for task in tasks:
            by_target.setdefault(task.target.name, []).append(task)
        for target_tasks in by_target.values():
            self._run_target(target_tasks, progress)

    def _counts(self, target: Target) -> Counts:
        return target.counts(len(self.plan.server_cpus), self.plan.workers, self.plan.threads)

    def _skip(self, target: Target, reason: str, progress: Progress) -> None:
        self.run.info.skipped_targets.append(SkippedTarget(target.name, reason))
        self._save()
        progress(f"skipped {target.name}: {reason.splitlines()[0]}", None)

    def _run_target(self, tasks: list[PointTask], progress: Progress) -> None:
        target = tasks[0].target
        scenarios = tuple(sorted({task.scenario for task in tasks}))
        try:
            server = self.launcher.launch(target, self._counts(target), scenarios, progress)
        except TargetSkipped as exc:
            self._skip(target, str(exc), progress)
            return
        last = server
        try:
            for index, task in enumerate(tasks):
                if index:
                    settled = self.launcher.settle(last, target, progress)
                    if settled is None:
                        return  # it did not restart (the old process is gone)
                    last = settled
                if not self._measure(task, last, progress):
                    return
        finally:
            if last.proc is not None:
                self.session.supervisor.stop(last.proc)

    def _measure(self, task: PointTask, server: Server, progress: Progress) -> bool:
        """Measure and store one point; False when the target died (no more points)."""
        self._check_mock()
        progress(task.label(), task)
        point = self._annotate(self._point_run(task).measure(server))
        self.run.points.append(point)
        self._save()
        self._check_mock()
        if self.session.observer is not None:
            self.session.observer.finished(point)
        if not point.ok and server.died():
            progress(f"{task.target.name} died: {(point.failure or '').splitlines()[0]}", None)
            return False
        return True

    def _check_mock(self) -> None:
        """Stop the run (MockDied) when the mock it started has exited."""
        proc = self._mock_proc
        if proc is None or proc.poll() is None:
            return
        raise MockDied(
            f"the mock LLM exited (status {proc.returncode}); the run stops with "
            f"{len(self.run.points)} points kept in {self.path}; finish with: "
            f"bench run --resume {self.options.out}"
        )

    def _point_run(self, task: PointTask) -> PointRun:
        index = len(self.run.points) + 1
        name = (
            f"{index:03d}-{task.target.name}-{task.scenario}-{task.load.mode}"
            f"{task.load.amount:g}-r{task.repetition}"
        )
        folder = self.options.out / "points" / name
        mock_pid = self._mock_proc.pid if self._mock_proc else None
        return PointRun(
            self.plan,
            self.session.supervisor,
            task,
            folder,
            self.session.where.upstream,
            mock_pid,
            self.session.observer,
            self.options.requests_dir,
        )

    def _annotate(self, point: Point) -> Point:
        if self.options.target_url and point.ok:
            point = point.warned(analysis.external_target_warning())
        return self._record_variant(point)

    def _record_variant(self, point: Point) -> Point:
        """A package variant's point keeps the versions it ran with."""
        if not point.pins:
            return point
        variant = variants.ensure(point.pins)
        # What the variant's versions are compared with: this environment's, by name.
        for name, version in variant.base.items():
            self.run.environment.packages.setdefault(name, version)
        return replace(point, packages=dict(variant.packages))


def run_folder(out: str | None) -> Path:
    """Return the folder for a new run (results/<run-id>/ by default)."""
    if out:
        return Path(out)
    return environment.REPO_ROOT / "results" / new_run_id()
