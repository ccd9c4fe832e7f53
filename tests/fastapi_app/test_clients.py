"""Every upstream client in every variant against the live mock: answers and error mapping."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.fastapi_app.support import AppClient
from tests.services.live import mock_stats
from tests.services.sse import parse_events

pytestmark = pytest.mark.process  # a live mock

COMBINATIONS = [
    ("async", "aiohttp"),
    ("async", "openai"),
    ("async", "openai-aiohttp"),
    ("async", "httpx"),
    ("sync", "openai"),
    ("sync", "httpx"),
    ("blocking", "openai"),
    ("blocking", "httpx"),
]


@pytest.fixture(params=COMBINATIONS, ids=["-".join(pair) for pair in COMBINATIONS])
def combination(request: pytest.FixtureRequest) -> tuple[str, str]:
    pair: tuple[str, str] = request.param
    return pair


@pytest.fixture
def llm_client(combination: tuple[str, str], app_client: AppClient, mock_url: str) -> TestClient:
    variant, client = combination
    return app_client(variant=variant, client=client, base_url=mock_url)


def _prompt(fault: str) -> dict[str, object]:
    return {"prompt": f"Say hi [mock-error:{fault}]", "max_tokens": 6}


def _upstream_requests(mock_url: str) -> int:
    return int(mock_stats(mock_url)["requests"])


def test_complete_calls_upstream_once(llm_client: TestClient, mock_url: str) -> None:
    before = _upstream_requests(mock_url)
    response = llm_client.post("/complete", json={"prompt": "Say hi", "max_tokens": 3})
    assert response.status_code == 200
    assert response.json()["response"] == "The quick brown"
    assert response.json()["tokens_used"] > 3
    assert _upstream_requests(mock_url) == before + 1


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_integral_float_max_tokens_goes_upstream_as_an_integer(
    llm_client: TestClient, path: str
) -> None:
    # The mock refuses a float max_tokens (400, which would be a 502 here), so a 200
    # with exactly 2 tokens shows that 2.0 went upstream as the JSON integer 2.
    response = llm_client.post(path, json={"prompt": "Say hi", "max_tokens": 2.0})
    assert response.status_code == 200, response.text
    if path == "/complete":
        assert response.json()["response"] == "The quick"
    else:
        assert [event.name for event in parse_events(response.text)] == ["message"] * 2 + ["done"]


def test_stream_relays_every_chunk(llm_client: TestClient) -> None:
    response = llm_client.post("/complete/stream", json={"prompt": "Say hi", "max_tokens": 3})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_events(response.text)
    assert [(event.name, event.data) for event in events[:3]] == [
        ("message", {"delta": "The"}),
        ("message", {"delta": " quick"}),
        ("message", {"delta": " brown"}),
    ]
    assert events[3].name == "done"
    assert isinstance(events[3].data["tokens_used"], int)


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
@pytest.mark.parametrize(
    ("fault", "status"),
    [("429", 503), ("500", 502), ("503", 502), ("404", 502)],
)
def test_upstream_failure_before_the_answer(
    llm_client: TestClient, path: str, fault: str, status: int
) -> None:
    response = llm_client.post(path, json=_prompt(fault))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], str)
    assert response.headers.get("retry-after") == ("1" if fault == "429" else None)


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_stalled_upstream_is_504(
    combination: tuple[str, str], app_client: AppClient, mock_url: str, path: str
) -> None:
    variant, client = combination
    started = time.monotonic()
    app = app_client(variant=variant, client=client, base_url=mock_url, timeout_s=0.2)
    response = app.post(path, json=_prompt("stall"))
    assert response.status_code == 504
    assert isinstance(response.json()["detail"], str)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("fault", ["disconnect", "malformed"])
def test_broken_answer_is_502(llm_client: TestClient, fault: str) -> None:
    response = llm_client.post("/complete", json=_prompt(fault))
    assert response.status_code == 502
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("fault", ["disconnect", "malformed"])
def test_failure_after_the_stream_started_is_an_error_event(
    llm_client: TestClient, fault: str
) -> None:
    response = llm_client.post("/complete/stream", json=_prompt(fault))
    assert response.status_code == 200
    events = parse_events(response.text)
    names = [event.name for event in events]
    assert names == ["message"] * (len(names) - 1) + ["error"]
    assert len(names) > 1  # at least one delta before the failure
    assert isinstance(events[-1].data["detail"], str)
