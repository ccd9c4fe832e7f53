"""What the targets call, and what the suite can know about it.

Four cases:

- `mock`: the runner starts mock_llm and points every target at it. Its latency is set,
  and its /stats count every upstream call (the suite's normal case).
- `deployment-mock`: `--target-url` with `--mock-url`: a running deployment whose
  services call a mock the suite can read; the latency is the mock's own settings.
- `deployment`: `--target-url` alone: nothing is started and nothing is known of the
  deployment's upstream: no call counts, and its latency is suffered, not set.
- `real`: `--upstream-url`: the runner starts the targets and points them at any
  OpenAI-compatible server (vLLM, Ollama, llama.cpp, a hosted API). Its latency is
  suffered, not set; verification checks the contract's structure, not the mock's text.

The API key of a real upstream is passed to the targets' environment only: it is never
part of a plan, a result, a log line or a command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from bench.results.model import UpstreamInfo

MOCK_KEY = "sk-mock-local"
KEY_VARIABLE = "BENCH_UPSTREAM_KEY"

Kind = Literal["mock", "deployment-mock", "deployment", "real"]


@dataclass(frozen=True)
class Upstream:
    """The upstream of a run (see the module docstring)."""

    kind: Kind
    stats_base: str | None  # where /stats answers (a mock), else None
    url: str | None  # the base URL (…/v1) targets are pointed at; None: not ours to set
    model: str | None = None
    key: str | None = field(default=None, repr=False)

    @property
    def latency_set(self) -> bool:
        """Whether the answer latency is a setting (a mock) rather than suffered."""
        return self.kind in ("mock", "deployment-mock")

    @property
    def exact_text(self) -> bool:
        """Whether the answers' text is known in advance (the mock's deterministic words)."""
        return self.latency_set

    def environment(self) -> dict[str, str]:
        """The LLM_* variables of a target started against this upstream."""
        if self.url is None:
            return {}
        env = {"LLM_BASE_URL": self.url, "LLM_API_KEY": self.key or MOCK_KEY}
        if self.model:
            env["LLM_MODEL"] = self.model
        return env

    def describe(self) -> UpstreamInfo:
        """What results record: never the key."""
        return UpstreamInfo(
            kind=self.kind,
            url=self.url or self.stats_base,
            model=self.model,
            latency="set" if self.latency_set else "suffered",
        )


def choose(
    *,
    mock_port: int,
    target_url: str | None,
    mock_url: str | None,
    upstream_url: str | None,
    upstream_model: str | None,
    upstream_key: str | None,
) -> Upstream:
    """The upstream of a run from its flags (the key also from BENCH_UPSTREAM_KEY)."""
    if upstream_url:
        key = upstream_key or os.environ.get(KEY_VARIABLE) or None
        return Upstream("real", None, upstream_url.rstrip("/"), upstream_model, key)
    if target_url and mock_url:
        return Upstream("deployment-mock", mock_url.rstrip("/"), None)
    if target_url:
        return Upstream("deployment", None, None)
    base = f"http://127.0.0.1:{mock_port}"
    return Upstream("mock", base, f"{base}/v1")
