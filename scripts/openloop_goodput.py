"""An independent goodput check: open-loop Poisson arrivals from a client that is not Locust.

`bench capacity` finds each stack's goodput rate (the highest open-loop Poisson rate whose
p99 response time, from each request's intended send time, is within the SLO) with its
own Locust scenarios. This script measures the same thing with nothing of the suite's
load generation: a seeded Poisson schedule fixed before the window, sent by one asyncio
process with aiohttp (a pool of keep-alive connections, no cap on requests in flight), each
request's latency counted from its intended send time. The service runs on the first core
(`taskset`), this client and the mock (100 ms answers of 10 tokens: capacity's `short`
latency) on the last, as `bench capacity` places them. For each rate it prints the rate
achieved, the p50 and p99 response times, the client's lateness (actual - intended send)
at p99, the errors and the verdict against the SLO; then the highest rate held.

    .venv/bin/python scripts/openloop_goodput.py [--rates 200,400,600] [--seconds 20]
        [--slo-ms 175] [SERVICE_ARGS ...]     # default service: fastapi_app on uvicorn

A rate is held when its p99 is within the SLO and at most 1 % of its requests failed (as
capacity's goodput). One window per rate: its p99 over thousands of answers, without
capacity's confidence rule, so a rate near the boundary can go either way between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import time
from dataclasses import dataclass

import aiohttp
from pinned import process

PORT, MOCK_PORT = 18720, 18721
BODY = {"prompt": "Say hello in a few words.", "max_tokens": 10}
WARMUP_S = 3.0
LATE_MS = 10.0  # as bench.results.limits.LATE_MS: a client later than this taints its p99


def schedule(rate: float, seconds: float, seed: int) -> list[float]:
    """Poisson arrival times (seconds from the start) at `rate` per second, fixed in advance."""
    draw = random.Random(seed)
    times, at = [], draw.expovariate(rate)
    while at < seconds:
        times.append(at)
        at += draw.expovariate(rate)
    return times


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Window:
    """One rate's measured window, filled in as its answers come."""

    rate: float
    seconds: float
    latencies_ms: list[float]  # of the requests answered with 200, from the intended send
    lateness_ms: list[float]  # actual - intended send, of every request
    errors: int

    @property
    def sent(self) -> int:
        return len(self.lateness_ms)

    def held(self, slo_ms: float) -> bool:
        """p99 within the SLO, errors at most 1 %, and the client on time."""
        if not self.latencies_ms:
            return False
        return (
            percentile(self.latencies_ms, 0.99) <= slo_ms
            and self.errors <= 0.01 * self.sent
            and percentile(self.lateness_ms, 0.99) <= LATE_MS
        )

    def row(self, slo_ms: float) -> str:
        if not self.latencies_ms:
            return (
                f"{self.rate:10,.0f} {'-':>10} {'-':>8} {'-':>8} {'-':>9} {self.errors:7d}  failed"
            )
        late = percentile(self.lateness_ms, 0.99)
        verdict = "held" if self.held(slo_ms) else "not held"
        if late > LATE_MS:
            verdict += " (the client was late: its figures are not the service's)"
        return (
            f"{self.rate:10,.0f} {len(self.latencies_ms) / self.seconds:10,.1f} "
            f"{percentile(self.latencies_ms, 0.5):8.1f} {percentile(self.latencies_ms, 0.99):8.1f} "
            f"{late:9.1f} {self.errors:7d}  {verdict}"
        )


async def one(session: aiohttp.ClientSession, url: str, intended: float, out: Window) -> None:
    sent = time.perf_counter()
    out.lateness_ms.append((sent - intended) * 1000)
    try:
        async with session.post(url, json=BODY) as answer:
            await answer.read()
            ok = answer.status == 200
    except aiohttp.ClientError:
        ok = False
    if ok:
        out.latencies_ms.append((time.perf_counter() - intended) * 1000)
    else:
        out.errors += 1


async def measure(url: str, rate: float, seconds: float, seed: int) -> Window:
    """A warm-up at the rate, then its window: every arrival sent at its intended time."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for span, window_seed in ((WARMUP_S, seed + 1), (seconds, seed)):
            window = Window(rate, span, [], [], 0)
            start = time.perf_counter()
            tasks = []
            for at in schedule(rate, span, window_seed):
                delay = start + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(session, url, start + at, window)))
            await asyncio.gather(*tasks)
    return window


def parse_args() -> argparse.Namespace:
    cores = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("service", nargs="*", default=["fastapi_app", "--server", "uvicorn"])
    parser.add_argument("--rates", default="200,300,400,500,600,700,800")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slo-ms", type=float, default=175.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-core", type=int, default=cores[0])
    parser.add_argument("--load-core", type=int, default=cores[-1])
    args = parser.parse_args()
    try:
        args.rate_list = [float(r) for r in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates takes req/s separated by commas, not {args.rates!r}")
    if not args.rate_list or min(args.rate_list) <= 0 or args.seconds <= 0:
        parser.error("--rates and --seconds must be above 0")
    return args


def main() -> None:
    args = parse_args()
    os.sched_setaffinity(0, {args.load_core})  # this client beside the mock
    mock = [sys.executable, "-m", "mock_llm", "--port", str(MOCK_PORT)]
    mock += ["--ttft-ms", "100", "--itl-ms", "0", "--output-tokens", "10"]
    service = [sys.executable, "-m", *args.service, "--port", str(PORT)]
    env = {"LLM_BASE_URL": f"http://127.0.0.1:{MOCK_PORT}/v1"}
    print(f"service: {' '.join(args.service)} on core {args.server_core}; this client and the "
          f"mock on core {args.load_core}; mock 100 ms, 10 tokens; SLO p99 {args.slo_ms:g} ms; "
          f"{args.seconds:g} s a rate after {WARMUP_S:g} s of warm-up")  # fmt: skip
    print(f"{'rate':>10} {'achieved':>10} {'p50 ms':>8} {'p99 ms':>8} {'late p99':>9} "
          f"{'errors':>7}  verdict")  # fmt: skip
    try:
        measure_all(args, mock, service, env)
    except RuntimeError as exc:  # a process did not start
        raise SystemExit(f"openloop_goodput: {exc}") from None


def measure_all(
    args: argparse.Namespace, mock: list[str], service: list[str], env: dict[str, str]
) -> None:
    """Start the mock and the service, measure every rate, print each and the highest held."""
    held = []
    with (
        process(mock, args.load_core, {}, f"http://127.0.0.1:{MOCK_PORT}/health"),
        process(service, args.server_core, env, f"http://127.0.0.1:{PORT}/health"),
    ):
        for rate in args.rate_list:
            window = asyncio.run(
                measure(f"http://127.0.0.1:{PORT}/complete", rate, args.seconds, args.seed)
            )
            print(window.row(args.slo_ms), flush=True)
            if window.held(args.slo_ms):
                held.append(rate)
    print(f"highest rate held: {max(held):,.0f} req/s" if held else "no rate held")


if __name__ == "__main__":
    main()
