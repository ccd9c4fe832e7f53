"""The live view's lifetime while a command runs (its flags: bench.cli.common)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from bench.cli.args import UsageError, console
from bench.running.live import DEFAULT_PORT, LiveView
from bench.running.processes import port_is_free


@contextmanager
def live_view(args: argparse.Namespace, title: str) -> Iterator[LiveView | None]:
    """The live view while the command runs (None without --live); closed on the way out."""
    if not (args.live or args.live_port):
        yield None
        return
    port = args.live_port or DEFAULT_PORT
    if not port_is_free(port):
        raise UsageError(f"port {port} is in use; pick another with --live-port")
    view = LiveView(port, title)
    console.print(f"live view: [bold]{view.start()}[/] (open it in a browser)")
    try:
        yield view
    finally:
        view.close()
