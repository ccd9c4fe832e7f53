"""The scenarios' knobs and their checks: pure, importable outside Locust (no gevent).

The knobs are Locust's own custom arguments (`events.init_command_line_parser`), so they
appear in Locust's web UI, a master passes them to its workers, and each also reads an
environment variable as its default:

| argument | variable | meaning | default |
| --- | --- | --- | --- |
| --bench-prompt | BENCH_PROMPT | prompt sent to /complete and /complete/stream | a short fixed prompt |
| --bench-max-tokens | BENCH_MAX_TOKENS | max_tokens sent | 10, the suite's one token default |
| --bench-expected-tokens | BENCH_EXPECTED_TOKENS | deltas per answer, for chunk fidelity (0: unknown, as with a real model) | max tokens |
| --bench-prompt-tokens | BENCH_PROMPT_TOKENS | prompt tokens the upstream counts: each stream then expects its `tokens_used` minus these (answers of varying length) | unset |
| --bench-wait | BENCH_WAIT | think time between tasks, s (0: closed loop) | 0 |
| --bench-rate-per-user | BENCH_RATE_PER_USER | tasks/s per user (paced open loop); wins over the wait | unset |
| --bench-arrivals | BENCH_ARRIVALS | open loop: `poisson`, `constant` or `gamma` arrivals at --bench-rate (bench.locustfiles.arrivals) | unset: closed loop |
| --bench-rate | BENCH_RATE | open loop: requests per second over every Locust process and host | unset |
| --bench-burstiness | BENCH_BURSTINESS | `gamma` arrivals: the gaps' shape (1 = Poisson, < 1 burstier) | 1 |
| --bench-seed | BENCH_SEED | open loop: the arrival schedule's seed | 0 |
| --bench-max-outstanding | BENCH_MAX_OUTSTANDING | open loop: requests in flight per Locust process; an arrival over it is dropped, and counted | 10,000 |
| --bench-slo | BENCH_SLO | objectives each request is judged against, e.g. `ttft=600,itl=100` (bench.locustfiles.slo) | none |
| --bench-timeout | BENCH_TIMEOUT_S | connection and network timeout, s | 60 |
| --bench-drop-after | BENCH_DROP_AFTER | scenario `disconnect`: deltas read before the client hangs up | 3 |

bench.locustfiles.scenario registers them with Locust and keeps the ones in force.
"""  # noqa: E501  (a table)

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from bench.locustfiles.arrivals import KINDS, Arrivals, Kind
from bench.locustfiles.slo import Slos

DEFAULT_PROMPT = "Say hello to the benchmark in a few words."
# The suite's one token default: the mock's --output-tokens, `bench run --mock-tokens`
# and this scenario's max_tokens all start from it (tests keep them equal).
DEFAULT_TOKENS = 10
DEFAULT_DROP_AFTER = 3
# Open loop: requests in flight per Locust process when no cap is given, and the size of
# its connection pool (one connection per request in flight; below the open-file limit
# the suite gives its children, 20,000 here). An arrival over it is dropped and counted.
DEFAULT_MAX_OUTSTANDING = 10_000

# (argument, environment variable, type, default, help)
ARGUMENTS: tuple[tuple[str, str, type, Any, str], ...] = (
    ("--bench-prompt", "BENCH_PROMPT", str, DEFAULT_PROMPT, "prompt of the complete endpoints"),
    ("--bench-max-tokens", "BENCH_MAX_TOKENS", int, DEFAULT_TOKENS, "max_tokens sent"),
    ("--bench-expected-tokens", "BENCH_EXPECTED_TOKENS", int, None,
     "deltas per answer for chunk fidelity (0: unknown; default: max tokens)"),
    ("--bench-prompt-tokens", "BENCH_PROMPT_TOKENS", int, None,
     "prompt tokens the upstream counts (answers of varying length)"),
    ("--bench-wait", "BENCH_WAIT", float, 0.0, "think time between tasks, s"),
    ("--bench-rate-per-user", "BENCH_RATE_PER_USER", float, None,
     "tasks per second per user (paced open loop)"),
    ("--bench-arrivals", "BENCH_ARRIVALS", str, None,
     "open loop: poisson, constant or gamma arrivals at --bench-rate (unset: closed loop)"),
    ("--bench-rate", "BENCH_RATE", float, None,
     "open loop: requests per second over every Locust process and host"),
    ("--bench-burstiness", "BENCH_BURSTINESS", float, 1.0,
     "gamma arrivals: the gaps' shape (1 = Poisson, < 1 burstier)"),
    ("--bench-seed", "BENCH_SEED", int, 0, "open loop: the arrival schedule's seed"),
    ("--bench-max-outstanding", "BENCH_MAX_OUTSTANDING", int, None,
     "open loop: requests in flight per Locust process; arrivals over it are dropped"),
    ("--bench-slo", "BENCH_SLO", str, None,
     "objectives each request is judged against, e.g. ttft=600,itl=100 (ms)"),
    ("--bench-timeout", "BENCH_TIMEOUT_S", float, 60.0, "connection and network timeout, s"),
    ("--bench-drop-after", "BENCH_DROP_AFTER", int, DEFAULT_DROP_AFTER,
     "scenario disconnect: deltas read before the client hangs up"),
)  # fmt: skip


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


@dataclass(frozen=True)
class LoadConfig:
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = DEFAULT_TOKENS
    expected_tokens: int = DEFAULT_TOKENS
    prompt_tokens: int | None = None
    wait_s: float = 0.0
    rate_per_user: float | None = None
    timeout_s: float = 60.0
    drop_after: int = DEFAULT_DROP_AFTER
    arrivals: Arrivals | None = None  # open loop; None: closed loop
    max_outstanding: int = DEFAULT_MAX_OUTSTANDING
    slos: Slos | None = None  # the objectives each request is judged against

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LoadConfig:
        """Build from the arguments' values (keyed as argparse names them); check them."""
        max_tokens = int(values.get("bench_max_tokens") or DEFAULT_TOKENS)
        expected = values.get("bench_expected_tokens")
        config = cls(
            prompt=str(values.get("bench_prompt") or DEFAULT_PROMPT),
            max_tokens=max_tokens,
            expected_tokens=max_tokens if expected is None else int(expected),
            prompt_tokens=values.get("bench_prompt_tokens"),
            wait_s=float(values.get("bench_wait") or 0.0),
            rate_per_user=values.get("bench_rate_per_user"),
            timeout_s=float(values.get("bench_timeout") or 60.0),
            drop_after=int(values.get("bench_drop_after") or DEFAULT_DROP_AFTER),
            arrivals=_arrivals(values),
            max_outstanding=_or_default(values, "bench_max_outstanding", DEFAULT_MAX_OUTSTANDING),
            slos=Slos.parse(str(values["bench_slo"])) if values.get("bench_slo") else None,
        )
        if config.rate_per_user is not None and config.rate_per_user <= 0:
            raise ValueError(f"--bench-rate-per-user must be > 0, got {config.rate_per_user}")
        if config.drop_after < 1:
            raise ValueError(f"--bench-drop-after must be >= 1, got {config.drop_after}")
        if config.wait_s < 0 or config.timeout_s <= 0 or config.expected_tokens < 0:
            raise ValueError(f"invalid load knobs: {config}")
        if config.max_outstanding < 1:
            raise ValueError(f"--bench-max-outstanding must be >= 1, got {config.max_outstanding}")
        return config

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoadConfig:
        """Read the knobs from their environment variables alone (see the table)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for flag, variable, kind, _default, _help in ARGUMENTS:
            raw = env.get(variable, "").strip()
            if raw:
                values[_dest(flag)] = kind(raw)
        return cls.from_values(values)

    def expected_deltas(self, tokens_used: int | None) -> int:
        """The deltas one stream should carry: from its own usage when lengths vary."""
        if self.prompt_tokens is not None and tokens_used is not None:
            return max(tokens_used - self.prompt_tokens, 0)
        return self.expected_tokens

    def body(self) -> dict[str, Any]:
        """Return the JSON body of both complete endpoints."""
        return {"prompt": self.prompt, "max_tokens": self.max_tokens}

    def dropping_body(self) -> dict[str, Any]:
        """The stream body of a client that hangs up after `drop_after` deltas.

        The marker tells the mock (docs/contract.md) so that it can time how long the
        service takes to close the upstream call; a real model ignores it.
        """
        prompt = f"{self.prompt} [mock-drop-after:{self.drop_after}]"
        return {"prompt": prompt, "max_tokens": self.max_tokens}

    def wait_time(self) -> Callable[[Any], float]:
        """Return the Locust wait_time for these knobs."""
        from locust import constant, constant_throughput  # only inside Locust: gevent

        if self.rate_per_user is not None:
            return constant_throughput(self.rate_per_user)
        return constant(self.wait_s)


def _or_default(values: Mapping[str, Any], key: str, default: int) -> int:
    value = values.get(key)
    return default if value is None else int(value)


def _arrivals(values: Mapping[str, Any]) -> Arrivals | None:
    """The open-loop arrivals the knobs ask for (ValueError when they do not fit)."""
    kind, rate = values.get("bench_arrivals"), values.get("bench_rate")
    if kind is None and rate is None:
        return None
    if kind is None or rate is None:
        raise ValueError("open loop needs both --bench-arrivals and --bench-rate")
    if kind not in KINDS:
        raise ValueError(f"--bench-arrivals must be one of {', '.join(KINDS)}, got {kind!r}")
    return Arrivals(
        cast(Kind, kind),
        float(rate),
        float(values.get("bench_burstiness") or 1.0),
        int(values.get("bench_seed") or 0),
    )


def has_detail(body: bytes | str | None) -> bool:
    """Tell whether an error body is the contract's JSON object with a `detail`."""
    try:
        data = json.loads(body or b"")
    except ValueError:
        return False
    return isinstance(data, dict) and "detail" in data


def body_failure(status: int, body: bytes | None, key: str) -> str | None:
    """Return why a JSON answer fails the contract, or None when it passes.

    A connection failure (status 0) or an error status (>= 400) returns None: Locust
    already fails those with their own exception, which keeps the error kind exact
    (an error status without its `detail` is told apart by `has_detail`).
    """
    if status == 0 or status >= 400:
        return None
    if status != 200:
        return f"status {status}, expected 200"
    try:
        data = json.loads(body or b"")
    except ValueError:
        return "the body is not JSON"
    if not isinstance(data, dict) or key not in data:
        return f"the body has no {key!r}"
    return None
