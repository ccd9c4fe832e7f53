"""What every command shares: one-line usage errors, argument types, the console."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from rich.console import Console

from mock_llm.config import parse_fault

# Off a terminal (CI logs, pipes) Rich would wrap tables at 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)

# Exit statuses of every command (docs/usage.md lists them).
EXIT_OK = 0
EXIT_FAILED = 1  # the command itself failed (a process did not start, ...)
EXIT_USAGE = 2  # bad input: one line says what and how to fix it
EXIT_SKIPPED = 3  # a target was skipped: it did not start or failed verification
EXIT_INVALID = 4  # a point failed or is invalid
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input: one line for the user, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


Subparsers = argparse._SubParsersAction  # the type of `add_subparsers()`'s result


def _numbers(text: str, kind: type[float] | type[int]) -> list[float]:
    try:
        values = [kind(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 10,50,100"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give positive numbers, e.g. 10,50,100")
    return values


def int_list(text: str) -> list[float]:
    """A comma-separated list of positive whole numbers."""
    return _numbers(text, int)


def float_list(text: str) -> list[float]:
    """A comma-separated list of positive numbers."""
    return _numbers(text, float)


def names(text: str) -> list[str]:
    """A comma-separated list of names (at least one)."""
    found = [part.strip() for part in text.split(",") if part.strip()]
    if not found:
        raise argparse.ArgumentTypeError("give at least one name")
    return found


def cpus(text: str) -> list[int]:
    """A CPU list such as 0, 0-1 or 0,2."""
    found: set[int] = set()
    try:
        for part in text.split(","):
            if "-" in part:
                low, high = part.split("-")
                found.update(range(int(low), int(high) + 1))
            elif part.strip():
                found.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a CPU list such as 0 or 0-1 or 0,2"
        ) from None
    return sorted(found)


def _number(text: str, kind: type[float] | type[int]) -> float:
    what = "a whole number" if kind is int else "a number"
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise argparse.ArgumentTypeError(message)


def positive_float(text: str) -> float:
    """A number above zero."""
    value = _number(text, float)
    _require(value > 0, f"{text} must be positive")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = int(_number(text, int))
    _require(value >= 1, f"{text} must be at least 1")
    return value


def fraction_or_one(text: str) -> float:
    """A share above 0 and at most 1, e.g. 0.99."""
    value = _number(text, float)
    _require(0 < value <= 1, f"{text} must be above 0 and at most 1, e.g. 0.99")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    value = int(_number(text, int))
    _require(value >= 0, f"{text} must be 0 or more")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1, e.g. 0.05."""
    value = _number(text, float)
    _require(0 < value < 1, f"{text} must be between 0 and 1, e.g. 0.05")
    return value


def non_negative(text: str) -> float:
    """A finite number of at least 0."""
    value = _number(text, float)
    _require(0 <= value < float("inf"), f"{text} must be a number >= 0, e.g. 0.05")
    return value


def share(text: str) -> float:
    """A share above 0 and at most 1, e.g. 0.1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    _require(0 < value <= 1, f"{text} is not a share above 0 and at most 1")
    return value


def faults(text: str) -> tuple[str, ...]:
    """Faults the mock draws: statuses and kinds, e.g. 429,500,stall."""
    try:
        codes = tuple(parse_fault(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    _require(bool(codes), "give at least one fault, for example 429,500")
    return codes


def seconds_window(text: str) -> tuple[float, float]:
    """START:END seconds of a measured window, with 3 <= START < END."""
    start, sep, end = text.partition(":")
    try:
        window = float(start), float(end)
    except ValueError:
        window = (-1.0, -1.0)
    _require(
        bool(sep) and window[0] >= 3 and window[1] > window[0],
        f"{text!r} is not START:END seconds with 3 <= START < END, e.g. 10:20 "
        "(the seconds before START give the throughput to recover to)",
    )
    return window
