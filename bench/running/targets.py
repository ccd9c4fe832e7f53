"""Targets as data: one name per (framework, server model[, variant]).

A target says how to start a service through its own `python -m <service>` command;
worker and thread counts follow each server's documented guidance for the cores
given to the server, unless overridden.
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
# gunicorn's worker_connections in every service's gunicorn configuration.
GEVENT_CONNECTIONS = 1000


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
    workers: int | None = None  # fixed counts of a spec such as name{workers=2}
    threads: int | None = None

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

    def concurrency_per_worker(self, threads: int) -> int | None:
        """Requests one worker can hold at once; None when only memory limits it."""
        if self.worker_class == "sync":
            return 1
        if self.worker_class in ("gthread", "asyncio+threadpool"):
            return threads
        if self.worker_class == "gevent":
            return GEVENT_CONNECTIONS
        if self.variant == "blocking":
            return 1  # the blocking call holds the event loop for the whole request
        return None

    def concurrency(self, workers: int, threads: int) -> int | None:
        """Requests the whole server can hold at once; None when only memory limits it."""
        per_worker = self.concurrency_per_worker(threads)
        return per_worker * workers if per_worker is not None else None

    def command(self, port: int, workers: int, threads: int, host: str = "127.0.0.1") -> list[str]:
        """Return the arguments after `python` that start this target."""
        args = ["-m", self.module, "--host", host, "--port", str(port)]
        if self.module == BASELINE_MODULE:
            return [*args, "--workers", str(workers)]
        args += ["--server", self.server, "--workers", str(workers)]
        if self.worker_class in ("gthread", "asyncio+threadpool"):
            args += ["--threads", str(threads)]
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


_SPEC = re.compile(r"^(?P<name>[a-z0-9-]+)(\[(?P<client>[a-z0-9-]+)\])?(\{(?P<counts>[^}]*)\})?$")


def parse(spec: str) -> Target:
    """Return the target of a spec: `name`, `name[client]`, `name{workers=2,threads=200}`.

    A client sets LLM_CLIENT for the service (the same service on another upstream
    client); counts fix the target's workers or threads whatever the run's defaults.
    """
    match = _SPEC.match(spec.strip())
    if match is None or match["name"] not in BY_NAME:
        raise UnknownTarget(
            f"unknown target {spec}; known: {', '.join(BY_NAME)} (see `bench targets`; "
            "a spec may add [client] and {workers=N,threads=N})"
        )
    target = BY_NAME[match["name"]]
    if match["client"]:
        target = with_client(target, match["client"])
    if match["counts"]:
        counts: dict[str, int] = {}
        for part in match["counts"].split(","):
            key, _, value = part.partition("=")
            if key.strip() not in ("workers", "threads") or not value.strip().isdigit():
                raise UnknownTarget(f"{spec}: counts are workers=N and threads=N")
            counts[key.strip()] = int(value)
        target = replace(
            target,
            name=target.name + "{" + match["counts"] + "}",
            workers=counts.get("workers", target.workers),
            threads=counts.get("threads", target.threads),
        )
    return target


def resolve(specs: list[str]) -> list[Target]:
    """Return the targets of the specs, or raise UnknownTarget naming the first bad one."""
    return [parse(spec) for spec in specs]


def with_client(target: Target, client: str) -> Target:
    """Return the target with LLM_CLIENT set (the demos compare upstream clients)."""
    env = (*((k, v) for k, v in target.env if k != "LLM_CLIENT"), ("LLM_CLIENT", client))
    return replace(target, name=f"{target.name}[{client}]", env=env)
