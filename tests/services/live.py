"""The three services as the contract tests see them: how to start one, and its upstream."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import free_port, running

# Short upstream timeout so that a stalled upstream gives its 504 in about 2 s.
TIMEOUT_S = "2"

# The contract tests' mock: OUTPUT_CAP tokens at most, the first after 50 ms, then one
# every ITL_S.
OUTPUT_CAP, ITL_S = 20, 0.01
CONTRACT_MOCK = ("--ttft-ms", "50", "--itl-ms", "10", "--output-tokens", str(OUTPUT_CAP))


@dataclass(frozen=True)
class Service:
    """One implementation of the contract and the server models it supports."""

    name: str  # the value of "service" in GET /
    module: str  # python -m <module>
    hello: str  # the message of GET /hello
    default_server: str
    servers: tuple[str, ...]


SERVICES = (
    Service(
        "fastapi",
        "fastapi_app",
        "Hello from FastAPI",
        "uvicorn",
        ("uvicorn", "gunicorn-uvicorn", "gunicorn-asgi"),
    ),
    Service(
        "flask",
        "flask_app",
        "Hello from Flask",
        "gunicorn-gthread",
        ("gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent"),
    ),
    Service(
        "drf",
        "drf_app",
        "Hello from DRF",
        "gunicorn-gthread",
        ("gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent", "uvicorn", "gunicorn-uvicorn"),
    ),
)
SERVER_MODELS = [(service, server) for service in SERVICES for server in service.servers]


@dataclass(frozen=True)
class Deployment:
    """A live service and the base URL (…/v1) of the upstream it calls."""

    service: Service
    base: str
    upstream: str
    log: Path | None = None  # its stderr, when serve() was given a file for it


@contextmanager
def serve(
    service: Service,
    upstream: str,
    server: str | None = None,
    workers: int | None = 1,
    *,
    env: dict[str, str] | None = None,
    flags: Sequence[str] = (),
    log: Path | None = None,
) -> Iterator[Deployment]:
    """Run `python -m <service>` until the block ends; `workers=None` keeps its default.

    `env` adds variables (LLM_CLIENT, REQUEST_LOG, METRICS...), `flags` command-line flags, and
    `log` is a file for the server's stderr (its log), readable while it runs.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-m", service.module, "--server", server or service.default_server]
    args += ["--port", str(port), *flags]
    if workers is not None:
        args += ["--workers", str(workers)]
    variables = {"LLM_BASE_URL": upstream, "LLM_TIMEOUT_S": TIMEOUT_S, **(env or {})}
    with running(args, f"{base}/health", env=variables, log=log):
        yield Deployment(service, base, upstream, log)


@contextmanager
def closed_upstream() -> Iterator[str]:
    """Yield an upstream base URL that refuses connections.

    The port stays bound without listening for the whole block, so that no server
    started meanwhile can take it and every connection attempt is refused.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def mock_stats(upstream: str) -> dict[str, Any]:
    """Read the mock's counters."""
    stats: dict[str, Any] = httpx.get(upstream.removesuffix("/v1") + "/stats").json()
    return stats


class UpstreamCalls:
    """Count the chat requests that the mock received inside a `with` block."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._before: dict[str, Any] = {}
        self._after: dict[str, Any] = {}

    def __enter__(self) -> UpstreamCalls:
        self._before = mock_stats(self._upstream)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._after = mock_stats(self._upstream)

    @property
    def requests(self) -> int:
        return int(self._after["requests"] - self._before["requests"])

    @property
    def streams(self) -> int:
        return int(self._after["streams"] - self._before["streams"])


def media_type(headers: httpx.Headers) -> str:
    """The media type of a Content-Type header, without its parameters."""
    return str(headers.get("content-type", "")).split(";")[0].strip()


def assert_json_error(response: httpx.Response, status: int) -> Any:
    """Assert an error answer of the contract: `status`, JSON, a `detail` key; return detail."""
    assert response.status_code == status, (status, response.status_code, response.text[:500])
    assert media_type(response.headers) == "application/json", response.headers
    body = json.loads(response.content)
    assert isinstance(body, dict) and "detail" in body, body
    return body["detail"]


def assert_validation_detail(detail: Any) -> list[dict[str, Any]]:
    """Assert the contract's 422 detail: a non-empty list of {loc, msg, type} under body."""
    assert isinstance(detail, list) and detail, detail
    for item in detail:
        assert isinstance(item, dict), item
        assert isinstance(item.get("loc"), list) and item["loc"][:1] == ["body"], item
        assert isinstance(item.get("msg"), str), item
        assert isinstance(item.get("type"), str), item
    return detail
