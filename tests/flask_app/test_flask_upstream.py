"""The three upstream clients, in process, against the live mock and a recording upstream."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.flask_app.support import CLIENTS, NO_UPSTREAM, AppFactory, Recorder
from tests.services.sse import parse_events

pytestmark = pytest.mark.parametrize("llm_client", CLIENTS)


def _mock_answer(mock_base: str, prompt: str, max_tokens: int) -> tuple[str, int]:
    """Ask the mock directly, as the reference for what the service must relay."""
    answer = httpx.post(
        f"{mock_base}/chat/completions",
        headers={"Authorization": "Bearer sk-mock-local"},
        json={
            "model": "mock-gpt",
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
        },
    ).json()
    return answer["choices"][0]["message"]["content"], answer["usage"]["total_tokens"]


@pytest.mark.process  # a live mock LLM
def test_complete_relays_text_and_total_tokens(
    make_client: AppFactory, mock_base: str, llm_client: str
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client)
    response = client.post("/complete", json={"prompt": "tell me", "max_tokens": 5, "extra": 1})
    assert response.status_code == 200
    text, tokens = _mock_answer(mock_base, "tell me", 5)
    assert response.get_json() == {"response": text, "tokens_used": tokens}


@pytest.mark.process  # a live mock LLM
def test_stream_relays_each_chunk_then_done(
    make_client: AppFactory, mock_base: str, llm_client: str
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client)
    response = client.post("/complete/stream", json={"prompt": "tell me", "max_tokens": 6})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    events = parse_events(response.get_data())
    text, tokens = _mock_answer(mock_base, "tell me", 6)
    deltas = [event.data["delta"] for event in events[:-1] if event.name == "message"]
    assert len(deltas) == len(events) - 1 == 6
    assert "".join(deltas) == text
    assert (events[-1].name, events[-1].data) == ("done", {"tokens_used": tokens})


def test_upstream_request_follows_the_openai_chat_api(
    make_client: AppFactory, recording_upstream: tuple[str, Recorder], llm_client: str
) -> None:
    base, recorder = recording_upstream
    client = make_client(
        LLM_BASE_URL=base, LLM_CLIENT=llm_client, LLM_API_KEY="sk-test", LLM_MODEL="m-1"
    )
    assert client.post("/complete", json={"prompt": "hi", "max_tokens": 7}).get_json() == {
        "response": "Hello",
        "tokens_used": 5,
    }
    streamed = client.post("/complete/stream", json={"prompt": "hi"}).get_data()
    # Role-only and empty chunks are not forwarded; a body that ends at close is read to the end.
    assert [(event.name, event.data) for event in parse_events(streamed)] == [
        ("message", {"delta": "Hel"}),
        ("message", {"delta": "lo"}),
        ("done", {"tokens_used": 5}),
    ]
    assert len(recorder.requests) == 2  # exactly one upstream call per request, no retries
    for path, headers, _ in recorder.requests:
        assert path == "/v1/chat/completions"
        assert headers["authorization"] == "Bearer sk-test"
    (_, _, plain), (_, _, stream) = recorder.requests
    messages = [{"role": "user", "content": "hi"}]
    assert plain["model"] == "m-1" and plain["messages"] == messages
    assert plain["max_tokens"] == 7 and not plain.get("stream")
    assert stream["stream"] is True and stream["max_tokens"] == 512
    assert stream["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("max_tokens", [1.0, 512.0])
def test_integral_float_max_tokens_goes_upstream_as_an_integer(
    make_client: AppFactory,
    recording_upstream: tuple[str, Recorder],
    llm_client: str,
    max_tokens: float,
) -> None:
    # JSON has one number type: 1.0 is an integer to JSON Schema and to the OpenAPI
    # document (type integer), so it is accepted, and the upstream gets a JSON integer.
    base, recorder = recording_upstream
    client = make_client(LLM_BASE_URL=base, LLM_CLIENT=llm_client)
    body = {"prompt": "hi", "max_tokens": max_tokens}
    assert client.post("/complete", json=body).status_code == 200
    streamed = client.post("/complete/stream", json=body)
    assert streamed.status_code == 200
    done = parse_events(streamed.get_data())[-1]
    assert (done.name, done.data) == ("done", {"tokens_used": 5})
    assert len(recorder.requests) == 2
    for _, _, sent in recorder.requests:
        assert sent["max_tokens"] == int(max_tokens)
        assert type(sent["max_tokens"]) is int  # parsed from the wire: 1, not 1.0


@pytest.mark.parametrize(
    ("fault", "status"),
    [("429", 503), ("500", 502), ("503", 502), ("404", 502), ("malformed", 502),
     ("disconnect", 502), ("stall", 504)],
)  # fmt: skip
@pytest.mark.process  # a live mock LLM
def test_complete_maps_upstream_faults(
    make_client: AppFactory, mock_base: str, llm_client: str, fault: str, status: int
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client, LLM_TIMEOUT_S=0.5)
    response = client.post("/complete", json={"prompt": f"hi [mock-error:{fault}]"})
    assert response.status_code == status
    assert isinstance(response.get_json()["detail"], str)
    if fault == "429":
        assert response.headers["Retry-After"] == "1"
    else:
        assert "Retry-After" not in response.headers


@pytest.mark.parametrize(
    ("fault", "status"), [("429", 503), ("500", 502), ("503", 502), ("stall", 504)]
)
@pytest.mark.process  # a live mock LLM
def test_stream_refused_before_start_gets_a_status(
    make_client: AppFactory, mock_base: str, llm_client: str, fault: str, status: int
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client, LLM_TIMEOUT_S=0.5)
    response = client.post("/complete/stream", json={"prompt": f"hi [mock-error:{fault}]"})
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert isinstance(response.get_json()["detail"], str)


@pytest.mark.parametrize("fault", ["disconnect", "malformed"])
@pytest.mark.process  # a live mock LLM
def test_stream_failing_midway_ends_with_an_error_event(
    make_client: AppFactory, mock_base: str, llm_client: str, fault: str
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client)
    response = client.post("/complete/stream", json={"prompt": f"hi [mock-error:{fault}]"})
    assert response.status_code == 200
    events = parse_events(response.get_data())
    assert events[0].name == "message"
    assert events[-1].name == "error" and isinstance(events[-1].data["detail"], str)
    assert "done" not in [event.name for event in events]


def test_refused_connection_is_502(make_client: AppFactory, llm_client: str) -> None:
    client = make_client(LLM_BASE_URL=NO_UPSTREAM, LLM_CLIENT=llm_client)
    for path in ["/complete", "/complete/stream"]:
        response = client.post(path, json={"prompt": "hi"})
        assert response.status_code == 502
        assert isinstance(response.get_json()["detail"], str)


@pytest.mark.process  # a live mock LLM
def test_stall_times_out_after_llm_timeout_s(
    make_client: AppFactory, mock_base: str, llm_client: str
) -> None:
    client = make_client(LLM_BASE_URL=mock_base, LLM_CLIENT=llm_client, LLM_TIMEOUT_S=0.3)
    started = time.monotonic()
    assert client.post("/complete", json={"prompt": "[mock-error:stall]"}).status_code == 504
    assert 0.3 <= time.monotonic() - started < 2.0
