"""The flags of `bench run` for faults, disconnects and soaks, and their checks."""

from __future__ import annotations

import argparse

from bench.cli import args as a
from bench.cli.args import UsageError
from bench.results.faults import FaultPlan
from mock_llm.config import FAULT_KINDS, parse_fault

SOAK_USERS = 50


def add_fault_flags(parser: argparse.ArgumentParser) -> None:
    """--mock-error-rate, --mock-error-codes, --fault-window, --drop-after, --soak."""
    group = parser.add_argument_group("faults, disconnects and soaks")
    group.add_argument(
        "--mock-error-rate",
        type=_rate,
        help="share of upstream calls the mock fails, 0-1 (each point records what the "
        "clients got and checks it against the contract)",
    )
    group.add_argument(
        "--mock-error-codes",
        type=_codes,
        help=f"faults drawn: statuses and the kinds {','.join(FAULT_KINDS)} (default 429,500)",
    )
    group.add_argument(
        "--fault-window",
        type=_window,
        metavar="START:END",
        help="inject only from START to END seconds of each measured window, so that "
        "recovery after it is measured (default: the whole point)",
    )
    group.add_argument(
        "--upstream-timeout",
        type=a.positive_float,
        metavar="SECONDS",
        help="the services' upstream timeout, LLM_TIMEOUT_S (theirs: 30): a stalled "
        "upstream then costs this long per call before the 504",
    )
    group.add_argument(
        "--drop-after",
        type=a.positive_int,
        help="scenario disconnect: deltas each client reads before hanging up (3)",
    )
    group.add_argument(
        "--soak",
        type=a.positive_float,
        metavar="MINUTES",
        help="one long window per target (scenario complete, 50 users unless given) that "
        "records the server's memory, open files and threads and their growth",
    )


def fault_plan(args: argparse.Namespace, duration_s: float) -> FaultPlan | None:
    """The faults asked for, checked against the window; None when none are."""
    rate, codes, window = args.mock_error_rate, args.mock_error_codes, args.fault_window
    if rate is None:
        if codes or window:
            raise UsageError("--mock-error-codes and --fault-window need --mock-error-rate")
        return None
    if args.upstream_url or (args.target_url and not args.mock_url):
        raise UsageError(
            "--mock-error-rate sets the suite's mock; the upstream here is not one "
            "(with --target-url, give its --mock-url)"
        )
    if window is not None and window[1] > duration_s - 3:
        raise UsageError(
            f"--fault-window {window[0]:g}:{window[1]:g} must end at least 3 s before the "
            f"{duration_s:g} s window does, so that recovery is measured; "
            "lengthen --duration or end it sooner"
        )
    return FaultPlan(rate, tuple(codes or ("429", "500")), window)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share above 0 and at most 1")
    return value


def _codes(text: str) -> tuple[str, ...]:
    try:
        codes = tuple(parse_fault(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not codes:
        raise argparse.ArgumentTypeError("give at least one fault, for example 429,500")
    return codes


def _window(text: str) -> tuple[float, float]:
    start, sep, end = text.partition(":")
    try:
        window = float(start), float(end)
    except ValueError:
        window = (-1.0, -1.0)
    if not sep or window[0] < 3 or window[1] <= window[0]:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not START:END seconds with 3 <= START < END, e.g. 10:20 "
            "(the seconds before START give the throughput to recover to)"
        )
    return window
