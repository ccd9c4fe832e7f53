"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import mock_llm


@pytest.fixture(scope="session")
def fast_mock() -> Iterator[str]:
    """A mock LLM with a short latency model; yields its base URL (…/v1)."""
    with mock_llm("--ttft-ms", "30", "--itl-ms", "5", "--output-tokens", "20") as base:
        yield base
