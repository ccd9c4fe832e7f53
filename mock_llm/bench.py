"""Capacity benchmark of the mock LLM: `python -m mock_llm.bench --help`.

Starts the mock pinned to one core and loads it from another core with wrk, then
prints requests/s, requests in flight and the latency added over the set latency,
for non-streaming answers and for streams (tokens/s delivered, counted by the mock).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY_LINE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS_LINE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_LINE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")

_LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    rps: float
    latency_ms: dict[str, float]
    non_2xx: int
    socket_errors: int


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk's text output (run with --latency)."""
    rps = _RPS_LINE.search(output)
    if rps is None:
        raise ValueError(f"wrk printed no Requests/sec line:\n{output}")
    latency = {
        f"p{pct}": float(value) * _UNITS[unit] for pct, value, unit in _LATENCY_LINE.findall(output)
    }
    errors = _ERRORS_LINE.search(output)
    sockets = _SOCKET_LINE.search(output)
    return WrkResult(
        rps=float(rps.group(1)),
        latency_ms=latency,
        non_2xx=int(errors.group(1)) if errors else 0,
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
    )


def _pin(cpus: set[int]) -> None:
    os.sched_setaffinity(0, cpus)


@contextmanager
def _mock(
    port: int, cpu: int, ttft_ms: float, itl_ms: float, tokens: int
) -> Iterator[tuple[str, int]]:
    args = [
        sys.executable,
        "-m",
        "mock_llm",
        "--port",
        str(port),
        "--ttft-ms",
        str(ttft_ms),
        "--itl-ms",
        str(itl_ms),
        "--output-tokens",
        str(tokens),
    ]
    proc = subprocess.Popen(
        args,
        start_new_session=True,
        preexec_fn=lambda: _pin({cpu}),  # noqa: PLW1509
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the mock did not start") from None
                time.sleep(0.05)
        yield base, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _wrk(base: str, cpu: int, connections: int, seconds: int, body: str, key: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA.format(body=body, key=key))
    try:
        args = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            script.name,
            f"{base}/v1/chat/completions",
        ]
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=lambda: _pin({cpu}),
        )
        return done.stdout
    finally:
        Path(script.name).unlink()


@dataclass(frozen=True)
class Case:
    """One load case: how many connections, and the request that each sends."""

    name: str
    connections: int
    stream: bool
    tokens: int
    ttft_ms: float
    itl_ms: float

    @property
    def set_latency_ms(self) -> float:
        return self.ttft_ms + (self.tokens - 1) * self.itl_ms

    def body(self) -> str:
        stream = "true" if self.stream else "false"
        return (
            '{"model":"mock-gpt","messages":[{"role":"user","content":"hello"}],'
            f'"max_tokens":{self.tokens},"stream":{stream}}}'
        )


def _drain(base: str, timeout_s: float = 30.0) -> None:
    """Wait until the warm-up's abandoned requests have left the mock."""
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{base}/stats").json()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)


def run_case(case: Case, args: argparse.Namespace, port: int) -> dict[str, float]:
    """Warm up, reset the mock's counters, measure, and return the figures."""
    with _mock(port, args.mock_cpu, case.ttft_ms, case.itl_ms, case.tokens) as (base, pid):
        _wrk(base, args.load_cpu, case.connections, args.warmup, case.body(), "sk-mock-local")
        _drain(base)
        httpx.post(f"{base}/stats/reset")
        process = psutil.Process(pid)
        cpu_before = process.cpu_times()
        started = time.monotonic()
        output = _wrk(
            base, args.load_cpu, case.connections, args.duration, case.body(), "sk-mock-local"
        )
        elapsed = time.monotonic() - started
        cpu_after = process.cpu_times()
        stats = httpx.get(f"{base}/stats").json()
    busy = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    result = parse_wrk(output)
    figures = {
        "connections": case.connections,
        "rps": result.rps,
        "ceiling_rps": case.connections / (case.set_latency_ms / 1000),
        "peak_in_flight": stats["peak_in_flight"],
        "set_latency_ms": case.set_latency_ms,
        "p50_ms": result.latency_ms.get("p50", float("nan")),
        "p99_ms": result.latency_ms.get("p99", float("nan")),
        "added_p50_ms": result.latency_ms.get("p50", float("nan")) - case.set_latency_ms,
        "added_p99_ms": result.latency_ms.get("p99", float("nan")) - case.set_latency_ms,
        "errors": result.non_2xx + result.socket_errors,
        "mock_cpu_pct": 100 * busy / elapsed,
    }
    if case.stream:
        figures["tokens_per_s"] = stats["tokens"] / elapsed
        figures["ceiling_tokens_per_s"] = figures["ceiling_rps"] * case.tokens
    return figures


def _report(case: Case, figures: dict[str, float]) -> str:
    lines = [
        f"{case.name}: {case.connections} connections, set latency "
        f"{case.set_latency_ms:g} ms (ttft {case.ttft_ms:g} ms, itl {case.itl_ms:g} ms, "
        f"{case.tokens} tokens)",
        f"  requests/s      {figures['rps']:10.0f}   (ceiling {figures['ceiling_rps']:.0f}, "
        f"{figures['rps'] / figures['ceiling_rps']:.0%})",
        f"  peak in flight  {figures['peak_in_flight']:10.0f}",
        f"  latency p50     {figures['p50_ms']:10.1f} ms (added {figures['added_p50_ms']:+.1f} ms)",
        f"  latency p99     {figures['p99_ms']:10.1f} ms (added {figures['added_p99_ms']:+.1f} ms)",
        f"  errors          {figures['errors']:10.0f}",
        f"  mock CPU        {figures['mock_cpu_pct']:10.0f} % of its core",
    ]
    if "tokens_per_s" in figures:
        lines.append(
            f"  tokens/s        {figures['tokens_per_s']:10.0f}   "
            f"(ceiling {figures['ceiling_tokens_per_s']:.0f})"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mock_llm.bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per case")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=2000, help="non-streaming load")
    parser.add_argument("--stream-connections", type=int, default=1000, help="streaming load")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="non-streaming latency")
    parser.add_argument("--stream-tokens", type=int, default=50, help="tokens per stream")
    parser.add_argument("--itl-ms", type=float, default=20.0, help="stream inter-token latency")
    parser.add_argument("--mock-cpu", type=int, default=0, help="core of the mock")
    parser.add_argument("--load-cpu", type=int, default=1, help="core of wrk")
    parser.add_argument("--port", type=int, default=8950)
    parser.add_argument("--only", choices=("plain", "stream"), help="run one case")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.exit(2, "mock_llm.bench: wrk is not installed: apt-get install wrk\n")
    cpus = os.sched_getaffinity(0)
    if not {args.mock_cpu, args.load_cpu} <= cpus or args.mock_cpu == args.load_cpu:
        parser.exit(2, f"mock_llm.bench: pick two different cores among {sorted(cpus)}\n")
    cases = [
        Case("non-streaming", args.connections, False, 1, args.latency_ms, 0.0),
        Case(
            "streaming",
            args.stream_connections,
            True,
            args.stream_tokens,
            args.latency_ms,
            args.itl_ms,
        ),
    ]
    print(
        f"mock on core {args.mock_cpu}, wrk (1 thread) on core {args.load_cpu}, "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up"
    )
    for case in cases:
        if args.only and (args.only == "stream") != case.stream:
            continue
        print(_report(case, run_case(case, args, args.port)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
