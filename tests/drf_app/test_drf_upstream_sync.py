"""Sync views with each sync upstream client (LLM_CLIENT) against the live mock LLM."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.drf_app.support import (
    COMPLETE_FAULTS,
    SHORT_TIMEOUT_S,
    STREAM_MIDWAY_FAULTS,
    STREAM_START_FAULTS,
    SYNC_CLIENTS,
    assert_relayed,
    faulty,
    streaming,
)
from tests.services.gated import gated_upstream
from tests.services.sse import parse_events
from tests.support import free_port

# Each test runs with each sync client, against the live mock.
pytestmark = [pytest.mark.parametrize("llm_client", SYNC_CLIENTS), pytest.mark.process]


@pytest.fixture
def api(upstream: Callable[..., None], llm_client: str) -> Client:
    upstream(client=llm_client)
    return Client()


def post(api: Client, path: str, body: dict[str, Any]) -> Any:
    return api.post(path, data=json.dumps(body), content_type="application/json")


def test_complete(api: Client) -> None:
    response = post(api, "/complete", {"prompt": "hello", "max_tokens": 3})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"response", "tokens_used"}
    assert len(answer["response"].split()) == 3
    assert isinstance(answer["tokens_used"], int) and answer["tokens_used"] > 3


def test_stream_relays_every_chunk_as_it_arrives(
    upstream: Callable[..., None], llm_client: str
) -> None:
    with gated_upstream() as gate:
        upstream(gate.base, client=llm_client)
        response = post(Client(), "/complete/stream", {"prompt": "hello"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache"
        assert response["X-Accel-Buffering"] == "no"
        raw = b""
        for part in streaming(response):
            raw += part
            gate.saw(raw)
    assert_relayed(gate, parse_events(raw))


@pytest.mark.parametrize(("fault", "status"), COMPLETE_FAULTS)
def test_complete_upstream_fault(api: Client, fault: str, status: int) -> None:
    response = post(api, "/complete", faulty(fault))
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)
    if fault == "429":
        assert response["Retry-After"] == "1"


@pytest.mark.parametrize(("fault", "status"), STREAM_START_FAULTS)
def test_stream_fault_before_start(api: Client, fault: str, status: int) -> None:
    response = post(api, "/complete/stream", faulty(fault))
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("fault", STREAM_MIDWAY_FAULTS)
def test_stream_fault_midway_ends_with_error_event(api: Client, fault: str) -> None:
    response = post(api, "/complete/stream", faulty(fault))
    assert response.status_code == 200
    events = parse_events(b"".join(streaming(response)))
    assert [event.name for event in events[:-1]] == ["message"] * 4
    assert events[-1].name == "error" and isinstance(events[-1].data["detail"], str)


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_stalled_upstream_is_504(upstream: Callable[..., None], llm_client: str, path: str) -> None:
    upstream(client=llm_client, timeout_s=SHORT_TIMEOUT_S)
    started = time.monotonic()
    response = post(Client(), path, faulty("stall"))
    assert response.status_code == 504
    assert time.monotonic() - started < SHORT_TIMEOUT_S + 2


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_refused_connection_is_502(
    upstream: Callable[..., None], llm_client: str, path: str
) -> None:
    upstream(f"http://127.0.0.1:{free_port()}/v1", client=llm_client)
    response = post(Client(), path, {"prompt": "hello"})
    assert response.status_code == 502
    assert isinstance(response.json()["detail"], str)


def test_wrong_api_key_is_502(upstream: Callable[..., None], llm_client: str) -> None:
    upstream(client=llm_client, api_key="sk-wrong")
    assert post(Client(), "/complete", {"prompt": "hello"}).status_code == 502
