"""The `bench` command: one module per subcommand, the flags `run` and `capacity` share
in `common`, argument types in `args`.

    bench targets | run | capacity | show | report | compare | history | demo

This module stays light on purpose: an API key given on the command line
(`--upstream-key`) is moved into the environment and the process starts again without
it before anything heavy is imported, so that it shows in the process title (ps) for as
short a moment as possible.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.cli.args import Parser

KEY_FLAG = "--upstream-key"
KEY_VARIABLE = "BENCH_UPSTREAM_KEY"  # bench.running.upstream reads it
KEY_MOVED = "BENCH_UPSTREAM_KEY_FROM_FLAG"


def _hide_key(argv: list[str]) -> None:
    """Move an --upstream-key into the environment, then start again without it."""
    found = [i for i, arg in enumerate(argv) if arg.split("=")[0] == KEY_FLAG]
    if not found:
        return
    index = found[0]
    if "=" in argv[index]:
        key, rest = argv[index].split("=", 1)[1], argv[:index] + argv[index + 1 :]
    elif index + 1 < len(argv):
        key, rest = argv[index + 1], argv[:index] + argv[index + 2 :]
    else:
        return  # argparse says what is missing
    os.environ[KEY_VARIABLE] = key
    os.environ[KEY_MOVED] = "1"  # the checks of the flags still know it was given
    os.execv(sys.executable, [sys.executable, "-m", "bench.cli", *rest])


def build_parser() -> Parser:
    """The `bench` parser with every subcommand."""
    from bench.cli.commands import build_parser as build

    return build()


def main(argv: Sequence[str] | None = None) -> int:
    """Run `bench`; with no argv, the process's own command line (key moved aside first)."""
    if argv is None:
        _hide_key(sys.argv[1:])
    from bench.cli.commands import execute

    return execute(argv)
