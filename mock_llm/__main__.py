"""Run the mock LLM: `python -m mock_llm --help`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from mock_llm.config import MockConfig, parse_config
from mock_llm.faults import FaultModel
from mock_llm.server import listening_socket, serve
from mock_llm.service import MockService
from mock_llm.stats import SharedStats


def _serve_forked(config: MockConfig, stats: SharedStats, faults: FaultModel) -> int:
    """Fork `workers` processes that accept on one shared listening socket."""
    sock = listening_socket(config.host, config.port)
    children = []
    for worker in range(config.workers):
        pid = os.fork()
        if pid == 0:
            stats.bind(worker)
            serve(MockService(config, stats, worker, faults), sock)
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
    stats = SharedStats(config.workers)
    # Both shared maps exist before the workers fork: that is what makes them shared.
    faults = FaultModel(config.error_rate, config.error_codes)
    try:
        if config.workers > 1:
            return _serve_forked(config, stats, faults)
        serve(MockService(config, stats, 0, faults), listening_socket(config.host, config.port))
    except OSError as exc:
        print(f"mock_llm: cannot listen on {config.host}:{config.port}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
