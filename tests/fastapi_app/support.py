"""Helpers of the FastAPI service's tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

# Short enough for fast tests, long enough that a stream is visibly incremental.
FAST_MOCK = ("--ttft-ms", "10", "--itl-ms", "5", "--output-tokens", "8")
# Nothing listens on port 9 (discard): a test given it must never reach an upstream.
NO_UPSTREAM = "http://127.0.0.1:9/v1"
VARIANTS = ["async", "sync", "blocking"]

AppClient = Callable[..., TestClient]
"""`app_client(**settings)`: a started TestClient on an app of its own."""
