"""Settings of the mock LLM: command-line flags, each also read from MOCK_LLM_<FLAG>."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_API_KEY = "sk-mock-local"
DEFAULT_MODEL = "mock-gpt"

# Fault kinds that are not HTTP status codes (docs/contract.md, the mock's contract).
# slow-start: a stream's first token comes half-way through its answer, the rest on their
# absolute schedule (a late first token, not a longer answer; a whole answer is unchanged).
FAULT_KINDS = ("stall", "disconnect", "malformed", "slow-start")


@dataclass(frozen=True)
class MockConfig:
    """The latency model, faults and serving options in force."""

    host: str = "127.0.0.1"
    port: int = 8900
    api_key: str = DEFAULT_API_KEY
    model: str = DEFAULT_MODEL
    ttft_ms: float = 200.0
    itl_ms: float = 20.0
    output_tokens: int = 10  # the suite's one token default (README: the latency model)
    jitter: float = 0.0
    length_spread: float = 0.0
    seed: int = 0
    error_rate: float = 0.0
    error_codes: tuple[str, ...] = ("429", "500", "503")
    workers: int = 1
    log_level: str = "warning"
    request_log: str = ""  # a file for one CSV line per chat call; empty: none (recording.py)

    def public(self) -> dict[str, object]:
        """Return the settings that results may record (never the key)."""
        return {
            "model": self.model,
            "ttft_ms": self.ttft_ms,
            "itl_ms": self.itl_ms,
            "output_tokens": self.output_tokens,
            "jitter": self.jitter,
            "length_spread": self.length_spread,
            "seed": self.seed,
            "error_rate": self.error_rate,
            "error_codes": list(self.error_codes),
            "workers": self.workers,
        }


def parse_fault(value: str) -> str:
    """Return a normalised fault name, or raise ValueError naming what is accepted."""
    value = value.strip().lower()
    if value in FAULT_KINDS:
        return value
    if value.isdigit() and 400 <= int(value) <= 599:
        return value
    raise ValueError(f"{value!r} is not a fault: use a status 400-599 or one of {FAULT_KINDS}")


def _error_codes(text: str) -> tuple[str, ...]:
    try:
        codes = tuple(parse_fault(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not codes:
        raise argparse.ArgumentTypeError("give at least one code, for example 429,500,503")
    return codes


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def _spread(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1 (exclusive)")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port")
    return value


# (flag, type, help); the default comes from MockConfig.
_FLAGS: tuple[tuple[str, object, str], ...] = (
    ("host", str, "address to bind"),
    ("port", _port, "TCP port"),
    ("api-key", str, "bearer key clients must send (empty: no auth)"),
    ("model", str, "model name listed by /v1/models"),
    ("ttft-ms", _non_negative, "time to first token, ms"),
    ("itl-ms", _non_negative, "time between tokens, ms"),
    ("output-tokens", _positive_int, "cap on generated tokens per answer"),
    ("jitter", _non_negative, "relative standard deviation of ttft and itl (0: exact)"),
    (
        "length-spread",
        _spread,
        "answer lengths drawn uniformly within +/- this share of --output-tokens (0: equal)",
    ),
    ("seed", int, "seed of the jitter, length and error-rate draws"),
    ("error-rate", _rate, "share of requests answered with an injected fault"),
    ("error-codes", _error_codes, "faults the error rate draws from, e.g. 429,500,503,stall"),
    ("workers", _positive_int, "server processes sharing the port"),
    ("log-level", str, "uvicorn log level"),
    (
        "request-log",
        str,
        "write one CSV line per chat completion call to this file, started anew (empty: none)",
    ),
)


def _attr(flag: str) -> str:
    return flag.replace("-", "_")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser; every default is overridable by MOCK_LLM_<FLAG>."""
    parser = argparse.ArgumentParser(
        prog="python -m mock_llm",
        description="OpenAI-compatible mock LLM with a set latency model.",
    )
    defaults = MockConfig()
    for flag, kind, text in _FLAGS:
        default = getattr(defaults, _attr(flag))
        if isinstance(default, tuple):
            default = ",".join(default)
        env = "MOCK_LLM_" + _attr(flag).upper()
        parser.add_argument(
            f"--{flag}",
            type=kind,  # type: ignore[arg-type]
            default=os.environ.get(env, default),
            help=f"{text} (env {env}; default {default})",
        )
    return parser


def parse_config(argv: Sequence[str] | None = None) -> MockConfig:
    """Parse flags and environment into a MockConfig (argparse exits 2 on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    values = vars(args)
    # argparse applies `type` to string defaults too, so environment values are
    # validated exactly like flags and a bad one exits 2 with one line.
    return MockConfig(**{key: values[key] for key in values})
