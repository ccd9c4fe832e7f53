"""What every scenario shares: load knobs from the environment and the body check.

| variable | meaning | default |
| --- | --- | --- |
| BENCH_PROMPT | prompt sent to /complete and /complete/stream | a short fixed prompt |
| BENCH_MAX_TOKENS | max_tokens sent | 64 |
| BENCH_EXPECTED_TOKENS | deltas the mock emits per answer (chunk fidelity) | BENCH_MAX_TOKENS |
| BENCH_WAIT | think time between tasks, seconds (0: closed loop) | 0 |
| BENCH_RATE_PER_USER | tasks/s per user (paced open loop); wins over BENCH_WAIT | unset |
| BENCH_TIMEOUT_S | connection and network timeout | 60 |
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PROMPT = "Say hello to the benchmark in a few words."


@dataclass(frozen=True)
class LoadConfig:
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = 64
    expected_tokens: int = 64
    wait_s: float = 0.0
    rate_per_user: float | None = None
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoadConfig:
        """Read the BENCH_* knobs (see the module docstring)."""
        env = os.environ if env is None else env
        max_tokens = int(env.get("BENCH_MAX_TOKENS", "64"))
        rate = env.get("BENCH_RATE_PER_USER", "").strip()
        config = cls(
            prompt=env.get("BENCH_PROMPT", DEFAULT_PROMPT),
            max_tokens=max_tokens,
            expected_tokens=int(env.get("BENCH_EXPECTED_TOKENS", str(max_tokens))),
            wait_s=float(env.get("BENCH_WAIT", "0")),
            rate_per_user=float(rate) if rate else None,
            timeout_s=float(env.get("BENCH_TIMEOUT_S", "60")),
        )
        if config.rate_per_user is not None and config.rate_per_user <= 0:
            raise ValueError(f"BENCH_RATE_PER_USER must be > 0, got {rate}")
        if config.wait_s < 0 or config.timeout_s <= 0 or config.expected_tokens < 1:
            raise ValueError(f"invalid load knobs: {config}")
        return config

    def body(self) -> dict[str, Any]:
        """Return the JSON body of both complete endpoints."""
        return {"prompt": self.prompt, "max_tokens": self.max_tokens}

    def wait_time(self) -> Callable[[Any], float]:
        """Return the Locust wait_time for these knobs."""
        from locust import constant, constant_throughput

        if self.rate_per_user is not None:
            return constant_throughput(self.rate_per_user)
        return constant(self.wait_s)


def body_failure(status: int, body: bytes | None, key: str) -> str | None:
    """Return why a JSON answer fails the contract, or None when it passes.

    A connection failure (status 0) or an error status (>= 400) returns None: Locust
    already fails those with their own exception, which keeps the error kind exact.
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
