"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import PACED_ITL_S, PACED_TOKENS, mock_llm


@pytest.fixture(scope="session")
def fast_mock() -> Iterator[str]:
    """A mock LLM with a short latency model; yields its base URL (…/v1)."""
    with mock_llm("--ttft-ms", "30", "--itl-ms", "5", "--output-tokens", "20") as base:
        yield base


@pytest.fixture(scope="session")
def paced_mock() -> Iterator[str]:
    """A mock LLM whose tokens come far enough apart that a relayed stream cannot look
    buffered, however late its first delta; yields its base URL (…/v1)."""
    args = ("--ttft-ms", "30", "--itl-ms", str(int(PACED_ITL_S * 1000)))
    with mock_llm(*args, "--output-tokens", str(PACED_TOKENS)) as base:
        yield base
