"""Async adrf views with each async upstream client (LLM_CLIENT) against the live mock LLM."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import AsyncClient

from tests.drf_app.support import (
    ASYNC_CLIENTS,
    COMPLETE_FAULTS,
    SHORT_TIMEOUT_S,
    STREAM_MIDWAY_FAULTS,
    STREAM_START_FAULTS,
    assert_relayed,
    faulty,
    run_async,
    streaming,
)
from tests.services.gated import gated_upstream
from tests.services.sse import parse_events
from tests.support import free_port

# Each test runs with each async client, against the live mock.
pytestmark = [pytest.mark.parametrize("llm_client", ASYNC_CLIENTS), pytest.mark.process]


@pytest.fixture(autouse=True)
def _use_client(upstream: Callable[..., None], llm_client: str) -> None:
    upstream(client=llm_client)


async def post(api: AsyncClient, path: str, body: dict[str, Any]) -> Any:
    return await api.post(path, body, content_type="application/json")


async def read_stream(response: Any) -> tuple[list[float], bytes]:
    arrivals, raw = [], b""
    async for part in streaming(response):
        arrivals.append(time.monotonic())
        raw += part
    return arrivals, raw


def test_fixed_bodies() -> None:
    async def scenario(api: AsyncClient) -> list[Any]:
        return [(await api.get(path)).json() for path in ("/", "/health", "/hello")]

    assert run_async(scenario) == [
        {"status": "ok", "service": "drf"},
        {"status": "healthy"},
        {"message": "Hello from DRF"},
    ]


def test_validation_and_size_limit() -> None:
    async def scenario(api: AsyncClient) -> list[Any]:
        invalid = await post(api, "/complete", {"prompt": "hi", "max_tokens": True})
        too_big = await post(api, "/complete/stream", {"prompt": "x" * 65536})
        return [invalid.status_code, invalid.json(), too_big.status_code, too_big.json()]

    invalid_status, invalid, too_big_status, too_big = run_async(scenario)
    assert invalid_status == 422
    assert invalid["detail"][0]["loc"] == ["body", "max_tokens"]
    assert too_big_status == 413
    assert isinstance(too_big["detail"], str)


def test_complete() -> None:
    async def scenario(api: AsyncClient) -> Any:
        response = await post(api, "/complete", {"prompt": "hello", "max_tokens": 3})
        assert response.status_code == 200
        return response.json()

    answer = run_async(scenario)
    assert len(answer["response"].split()) == 3
    assert isinstance(answer["tokens_used"], int) and answer["tokens_used"] > 3


def test_stream_relays_every_chunk_as_it_arrives(
    upstream: Callable[..., None], llm_client: str
) -> None:
    with gated_upstream() as gate:
        upstream(gate.base, client=llm_client)

        async def scenario(api: AsyncClient) -> tuple[Any, bytes]:
            response = await post(api, "/complete/stream", {"prompt": "hello"})
            raw = b""
            async for part in streaming(response):
                raw += part
                gate.saw(raw)
            return response, raw

        response, raw = run_async(scenario)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    assert_relayed(gate, parse_events(raw))


@pytest.mark.parametrize(("fault", "status"), COMPLETE_FAULTS)
def test_complete_upstream_fault(fault: str, status: int) -> None:
    async def scenario(api: AsyncClient) -> Any:
        return await post(api, "/complete", faulty(fault))

    response = run_async(scenario)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)
    if fault == "429":
        assert response["Retry-After"] == "1"


@pytest.mark.parametrize(("fault", "status"), STREAM_START_FAULTS)
def test_stream_fault_before_start(fault: str, status: int) -> None:
    async def scenario(api: AsyncClient) -> Any:
        return await post(api, "/complete/stream", faulty(fault))

    response = run_async(scenario)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("fault", STREAM_MIDWAY_FAULTS)
def test_stream_fault_midway_ends_with_error_event(fault: str) -> None:
    async def scenario(api: AsyncClient) -> tuple[int, bytes]:
        response = await post(api, "/complete/stream", faulty(fault))
        return response.status_code, (await read_stream(response))[1]

    status, raw = run_async(scenario)
    assert status == 200
    events = parse_events(raw)
    assert [event.name for event in events[:-1]] == ["message"] * 4
    assert events[-1].name == "error" and isinstance(events[-1].data["detail"], str)


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_stalled_upstream_is_504(upstream: Callable[..., None], llm_client: str, path: str) -> None:
    upstream(client=llm_client, timeout_s=SHORT_TIMEOUT_S)

    async def scenario(api: AsyncClient) -> Any:
        return await post(api, path, faulty("stall"))

    started = time.monotonic()
    assert run_async(scenario).status_code == 504
    assert time.monotonic() - started < SHORT_TIMEOUT_S + 2


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_refused_connection_is_502(
    upstream: Callable[..., None], llm_client: str, path: str
) -> None:
    upstream(f"http://127.0.0.1:{free_port()}/v1", client=llm_client)

    async def scenario(api: AsyncClient) -> Any:
        return await post(api, path, {"prompt": "hello"})

    assert run_async(scenario).status_code == 502
