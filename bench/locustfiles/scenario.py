"""What every scenario shares: load knobs from the environment and the body check.

| variable | meaning | default |
| --- | --- | --- |
| BENCH_PROMPT | prompt sent to /complete and /complete/stream | a short fixed prompt |
| BENCH_MAX_TOKENS | max_tokens sent | 10 (the suite's one token default) |
| BENCH_EXPECTED_TOKENS | deltas the mock emits per answer (chunk fidelity; 0: | BENCH_MAX_TOKENS |
|   | unknown, as with a real model, which chunks as it likes) | |
| BENCH_PROMPT_TOKENS | prompt tokens the upstream counts (answers of varying | unset |
|   | length): each stream then expects its `tokens_used` minus these | |
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
# The suite's one token default: the mock's --output-tokens, `bench run --mock-tokens`
# and this scenario's max_tokens all start from it (tests keep them equal).
DEFAULT_TOKENS = 10


@dataclass(frozen=True)
class LoadConfig:
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = DEFAULT_TOKENS
    expected_tokens: int = DEFAULT_TOKENS
    prompt_tokens: int | None = None
    wait_s: float = 0.0
    rate_per_user: float | None = None
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoadConfig:
        """Read the BENCH_* knobs (see the module docstring)."""
        env = os.environ if env is None else env
        max_tokens = int(env.get("BENCH_MAX_TOKENS", str(DEFAULT_TOKENS)))
        rate = env.get("BENCH_RATE_PER_USER", "").strip()
        prompt_tokens = env.get("BENCH_PROMPT_TOKENS", "").strip()
        config = cls(
            prompt=env.get("BENCH_PROMPT", DEFAULT_PROMPT),
            max_tokens=max_tokens,
            expected_tokens=int(env.get("BENCH_EXPECTED_TOKENS", str(max_tokens))),
            prompt_tokens=int(prompt_tokens) if prompt_tokens else None,
            wait_s=float(env.get("BENCH_WAIT", "0")),
            rate_per_user=float(rate) if rate else None,
            timeout_s=float(env.get("BENCH_TIMEOUT_S", "60")),
        )
        if config.rate_per_user is not None and config.rate_per_user <= 0:
            raise ValueError(f"BENCH_RATE_PER_USER must be > 0, got {rate}")
        if config.wait_s < 0 or config.timeout_s <= 0 or config.expected_tokens < 0:
            raise ValueError(f"invalid load knobs: {config}")
        return config

    def expected_deltas(self, tokens_used: int | None) -> int:
        """The deltas one stream should carry: from its own usage when lengths vary."""
        if self.prompt_tokens is not None and tokens_used is not None:
            return max(tokens_used - self.prompt_tokens, 0)
        return self.expected_tokens

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
