"""Run the mock LLM: `python -m mock_llm --help`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Sequence

from mock_llm.config import MockConfig, parse_config
from mock_llm.faults import FaultModel
from mock_llm.recording import create, serve_recording
from mock_llm.server import listening_socket, serve
from mock_llm.service import MockService
from mock_llm.stats import SharedStats


def _serve_worker(
    config: MockConfig, stats: SharedStats, worker: int, faults: FaultModel, sock: socket.socket
) -> None:
    """Serve in this process: the plain service, or one that writes the request log."""
    if config.request_log:
        serve_recording(config, stats, worker, faults, sock)
    else:
        serve(MockService(config, stats, worker, faults), sock)


def _serve_forked(config: MockConfig, stats: SharedStats, faults: FaultModel) -> int:
    """Fork `workers` processes that accept on one shared listening socket."""
    sock = listening_socket(config.host, config.port)
    children = []
    for worker in range(config.workers):
        pid = os.fork()
        if pid == 0:
            stats.bind(worker)
            _serve_worker(config, stats, worker, faults, sock)
            os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    if config.request_log:
        try:
            create(config.request_log)  # once, before any worker appends to it
        except OSError as exc:
            print(f"mock_llm: cannot write {config.request_log}: {exc.strerror}", file=sys.stderr)
            return 2
    stats = SharedStats(config.workers)
    # Both shared maps exist before the workers fork: that is what makes them shared.
    faults = FaultModel(config.error_rate, config.error_codes)
    try:
        if config.workers > 1:
            return _serve_forked(config, stats, faults)
        _serve_worker(config, stats, 0, faults, listening_socket(config.host, config.port))
    except OSError as exc:
        print(f"mock_llm: cannot listen on {config.host}:{config.port}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
