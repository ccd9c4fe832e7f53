"""Targets as data: one name per (framework, server model[, variant]).

A target says how to start a service through its own `python -m <service>` command;
worker and thread counts follow each server's documented guidance for the cores
given to the server, unless overridden. Every limit on how many requests a target can
hold at once is a declared property (`declared_limits`), settable from a spec such as
`fastapi-uvicorn{pool=10000}` or `flask-gunicorn-gevent{connections=5000}`. A spec can
also pin packages for that target alone, `drf-gunicorn-gthread@django==5.1.*`: the
runner then starts it with an environment of its own (bench.running.variants).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bench.results.model import SCENARIOS

# Threads per gthread worker: what flask_app and drf_app default to, and why (their
# READMEs): each in-flight upstream call holds a thread for its whole latency.
GTHREAD_THREADS = 100
# Starlette runs `def` endpoints on AnyIO's thread limiter: 40 tokens by default.
ANYIO_THREADS = 40
# gunicorn's worker_connections: the services' default (--worker-connections).
WORKER_CONNECTIONS = 10000
# The upstream connection pool of each worker process: the services' LLM_MAX_CONNECTIONS.
UPSTREAM_POOL = 10000
# File descriptors a request in flight holds in the server: its client's socket and
# its upstream connection; and what a process keeps open besides them.
FDS_PER_REQUEST = 2
FDS_RESERVED = 64
COUNT_KEYS = ("workers", "threads", "pool", "connections")


@dataclass(frozen=True)
class Counts:
    """How many of each thing a running target has: processes, threads, pool, connections."""

    workers: int
    threads: int
    pool: int = UPSTREAM_POOL
    connections: int = WORKER_CONNECTIONS


@dataclass(frozen=True)
class Target:
    """One way to run one service, and what that costs in concurrency."""

    name: str
    framework: str  # fastapi | flask | drf | none
    module: str  # python -m <module>
    server: str  # the service's --server value
    tag: str
    description: str
    variant: str | None = None  # fastapi_app --variant
    scenarios: tuple[str, ...] = SCENARIOS
    env: tuple[tuple[str, str], ...] = field(default=())
    # Fixed counts of a spec such as name{workers=2,pool=20}; None: the run's defaults.
    workers: int | None = None
    threads: int | None = None
    pool: int | None = None
    connections: int | None = None
    # Packages pinned for this target alone (a spec's @pins): its own environment.
    pins: tuple[str, ...] = ()

    @property
    def worker_class(self) -> str:
        """The concurrency model inside one worker process."""
        if self.server.startswith("gunicorn-") and self.server.removeprefix("gunicorn-") in (
            "sync",
            "gthread",
            "gevent",
        ):
            return self.server.removeprefix("gunicorn-")
        if self.variant == "sync":
            return "asyncio+threadpool"
        return "asyncio"

    def default_workers(self, cores: int) -> int:
        """gunicorn's documented start, 2 x cores + 1; uvicorn: one process per core."""
        if self.server.startswith("gunicorn"):
            return 2 * cores + 1
        return cores

    def default_threads(self) -> int:
        """Threads per worker that bound its concurrency (1 where threads do not apply)."""
        if self.worker_class == "gthread":
            return GTHREAD_THREADS
        if self.worker_class == "asyncio+threadpool":
            return ANYIO_THREADS
        return 1

    def counts(self, cores: int, workers: int | None, threads: int | None) -> Counts:
        """The counts in force: the spec's, else the run's overrides, else the defaults."""
        return Counts(
            workers=self.workers or workers or self.default_workers(cores),
            threads=self.threads or threads or self.default_threads(),
            pool=self.pool or UPSTREAM_POOL,
            connections=self.connections or WORKER_CONNECTIONS,
        )

    @property
    def gunicorn_workers(self) -> bool:
        """Whether gunicorn's worker_connections applies (its gthread and gevent workers)."""
        return self.worker_class in ("gthread", "gevent")

    def declared_limits(self, counts: Counts, nofile: int | None = None) -> dict[str, int]:
        """Every declared bound on requests in flight, for the whole server.

        Args:
            nofile: the open-file limit of each server process, when known.
        """
        limits: dict[str, int] = {}
        per_worker = {"sync": 1, "gthread": counts.threads, "asyncio+threadpool": counts.threads}
        if self.worker_class in per_worker:
            name = "workers" if self.worker_class == "sync" else "threads"
            limits[name] = per_worker[self.worker_class] * counts.workers
        if self.variant == "blocking":
            limits["workers"] = counts.workers  # the blocking call holds the whole loop
        if self.gunicorn_workers:
            limits["connections"] = counts.connections * counts.workers
        if self.framework != "none":
            limits["pool"] = counts.pool * counts.workers
        if nofile is not None:
            per_process = max(1, (nofile - FDS_RESERVED) // FDS_PER_REQUEST)
            limits["open-files"] = per_process * counts.workers
        return limits

    def concurrency(self, counts: Counts, nofile: int | None = None) -> int | None:
        """Requests the whole server can hold at once (the tightest declared limit)."""
        limits = self.declared_limits(counts, nofile)
        return min(limits.values()) if limits else None

    def environment(self, counts: Counts) -> dict[str, str]:
        """Variables the service reads: its upstream client and pool size."""
        env = dict(self.env)
        if self.framework != "none":
            env["LLM_MAX_CONNECTIONS"] = str(counts.pool)
        return env

    def command(self, port: int, counts: Counts, host: str = "127.0.0.1") -> list[str]:
        """Return the arguments after `python` that start this target."""
        args = ["-m", self.module, "--host", host, "--port", str(port)]
        if self.module == BASELINE_MODULE:
            return [*args, "--workers", str(counts.workers)]
        args += ["--server", self.server, "--workers", str(counts.workers)]
        if self.worker_class in ("gthread", "asyncio+threadpool"):
            args += ["--threads", str(counts.threads)]
        if self.gunicorn_workers:
            args += ["--worker-connections", str(counts.connections)]
        if self.variant is not None:
            args += ["--variant", self.variant]
        return args


BASELINE_MODULE = "bench.running.baseline"


def _t(name: str, framework: str, server: str, tag: str, text: str, **kw: object) -> Target:
    module = {"fastapi": "fastapi_app", "flask": "flask_app", "drf": "drf_app"}.get(
        framework, BASELINE_MODULE
    )
    return Target(name, framework, module, server, tag, text, **kw)  # type: ignore[arg-type]


TARGETS: tuple[Target, ...] = (
    _t("fastapi-uvicorn", "fastapi", "uvicorn", "realistic",
       "FastAPI async endpoints on uvicorn (uvloop, httptools)"),
    _t("fastapi-gunicorn-uvicorn", "fastapi", "gunicorn-uvicorn", "realistic",
       "FastAPI on gunicorn managing uvicorn workers"),
    _t("fastapi-gunicorn-asgi", "fastapi", "gunicorn-asgi", "realistic",
       "FastAPI on gunicorn 27's native ASGI worker"),
    _t("fastapi-uvicorn-sync", "fastapi", "uvicorn", "teaching",
       "FastAPI `def` endpoints in AnyIO's threadpool (40 threads by default)", variant="sync"),
    _t("fastapi-uvicorn-blocking", "fastapi", "uvicorn", "teaching",
       "FastAPI with a blocking upstream call inside `async def` (a known mistake)",
       variant="blocking"),
    _t("flask-gunicorn-sync", "flask", "gunicorn-sync", "realistic",
       "Flask on gunicorn sync workers: one request per process"),
    _t("flask-gunicorn-gthread", "flask", "gunicorn-gthread", "realistic",
       "Flask on gunicorn gthread workers (100 threads each)"),
    _t("flask-gunicorn-gevent", "flask", "gunicorn-gevent", "realistic",
       "Flask on gunicorn gevent workers (green threads)"),
    _t("drf-gunicorn-sync", "drf", "gunicorn-sync", "realistic",
       "DRF sync views on gunicorn sync workers"),
    _t("drf-gunicorn-gthread", "drf", "gunicorn-gthread", "realistic",
       "DRF sync views on gunicorn gthread workers (100 threads each)"),
    _t("drf-gunicorn-gevent", "drf", "gunicorn-gevent", "realistic",
       "DRF sync views on gunicorn gevent workers"),
    _t("drf-uvicorn", "drf", "uvicorn", "realistic",
       "DRF async views (adrf) under ASGI on uvicorn"),
    _t("drf-gunicorn-uvicorn", "drf", "gunicorn-uvicorn", "realistic",
       "DRF async views (adrf) on gunicorn managing uvicorn workers"),
    _t("baseline-uvicorn", "none", "uvicorn", "calibration",
       "A bare ASGI hello on uvicorn: the stack's and the generator's ceiling",
       scenarios=("hello",)),
)  # fmt: skip

BY_NAME = {target.name: target for target in TARGETS}

# The three frameworks on their most common production setup (each service's default).
DEFAULT_TARGETS = ("fastapi-uvicorn", "flask-gunicorn-gthread", "drf-gunicorn-gthread")


class UnknownTarget(ValueError):
    """A target spec that names no target or sets something unknown."""


_SPEC = re.compile(
    r"^(?P<name>[a-z0-9-]+)(\[(?P<client>[a-z0-9-]+)\])?(\{(?P<counts>[^}]*)\})?"
    r"(@(?P<pins>.+))?$"
)
_COUNTS_HELP = (
    "counts are workers=N, threads=N, pool=N (upstream connections per process) and "
    "connections=N (gunicorn worker_connections per process)"
)
# One package requirement of a spec's pins: a name (with extras) and version specifiers.
_OPERATOR = r"(===|==|!=|<=|>=|~=|<|>)"
_VERSION = r"[A-Za-z0-9.*+!_-]+"
_PIN = re.compile(
    rf"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*{_OPERATOR}\s*{_VERSION}"
    rf"(\s*,\s*{_OPERATOR}\s*{_VERSION})*$"
)
_PINS_HELP = (
    "pins are package requirements with versions after @, comma-separated, e.g. "
    "name@django==5.1.* or name@pydantic==2.9.*,starlette==0.41.*"
)


def _spec_counts(spec: str, text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in text.split(","):
        key, _, value = (item.strip() for item in part.partition("="))
        if key not in COUNT_KEYS or not value.isdigit() or int(value) < 1:
            raise UnknownTarget(f"{spec}: {_COUNTS_HELP}")
        counts[key] = int(value)
    return counts


def _starts_with_operator(text: str) -> bool:
    return re.match(_OPERATOR, text) is not None


def parse_pins(spec: str, text: str) -> tuple[str, ...]:
    """The requirements of a spec's pins: "django>=5.0,<5.2,uvicorn==0.30.*" -> two."""
    pins: list[str] = []
    for part in (item.strip() for item in text.split(",")):
        if pins and _starts_with_operator(part):
            pins[-1] += "," + part  # another specifier of the same package
        else:
            pins.append(part)
    pins = [re.sub(r"\s+", "", pin) for pin in pins]
    if not pins or any(_PIN.match(pin) is None for pin in pins):
        raise UnknownTarget(f"{spec}: {_PINS_HELP}")
    return tuple(pins)


def pin_name(pin: str) -> str:
    """The package a pin is about: "django" of "django==5.1.*"."""
    return re.split(r"[\[<>=!~]", pin, maxsplit=1)[0]


def parse(spec: str) -> Target:
    """Return the target of a spec: `name`, `name[client]`, `name{workers=2,pool=20}`,
    `name@django==5.1.*`, or all of them in that order.

    A client sets LLM_CLIENT for the service (the same service on another upstream
    client); counts fix the target's workers, threads, upstream pool or gunicorn
    worker_connections whatever the run's defaults; pins give the target packages of
    its own versions (the runner builds and caches an environment for them).
    """
    match = _SPEC.match(spec.strip())
    if match is None or match["name"] not in BY_NAME:
        raise UnknownTarget(
            f"unknown target {spec}; known: {', '.join(BY_NAME)} (see `bench targets`; "
            "a spec may add [client], {workers=N,threads=N,pool=N,connections=N} and "
            "@package==version pins)"
        )
    target = BY_NAME[match["name"]]
    if match["client"]:
        target = with_client(target, match["client"])
    if match["counts"]:
        counts = _spec_counts(spec, match["counts"])
        target = replace(
            target,
            name=target.name + "{" + match["counts"] + "}",
            workers=counts.get("workers", target.workers),
            threads=counts.get("threads", target.threads),
            pool=counts.get("pool", target.pool),
            connections=counts.get("connections", target.connections),
        )
    if match["pins"]:
        pins = parse_pins(spec, match["pins"])
        target = replace(target, name=target.name + "@" + ",".join(pins), pins=pins)
    return target


def resolve(specs: list[str]) -> list[Target]:
    """Return the targets of the specs, or raise UnknownTarget naming the first bad one."""
    return [parse(spec) for spec in specs]


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs; commas inside {} or [] and pins stay.

    "a{workers=2,threads=4},b@pydantic==2.9.*,starlette==0.41.*,c" gives three specs: a
    part with a version operator (and no @ of its own) continues the pins before it.
    """
    parts: list[str] = []
    depth, current = 0, ""
    for char in text:
        depth += (char in "{[") - (char in "}]")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    specs: list[str] = []
    for part in filter(None, parts):
        pinned = bool(specs) and "@" in specs[-1]
        if pinned and "@" not in part and re.search(_OPERATOR, part):
            specs[-1] += "," + part
        else:
            specs.append(part)
    return specs


def with_client(target: Target, client: str) -> Target:
    """Return the target with LLM_CLIENT set (the demos compare upstream clients).

    The client goes right after the catalog name, before any {counts} or @pins, so
    that the name stays a spec that parses back to this target.
    """
    env = (*((k, v) for k, v in target.env if k != "LLM_CLIENT"), ("LLM_CLIENT", client))
    parts = re.match(r"^([a-z0-9-]+)(\[[^\]]*\])?(.*)$", target.name)
    base, rest = (parts[1], parts[3]) if parts else (target.name, "")
    return replace(target, name=f"{base}[{client}]{rest}", env=env)
