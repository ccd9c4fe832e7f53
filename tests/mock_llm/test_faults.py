"""Injected faults, authentication and malformed input."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support import mock_llm

pytestmark = pytest.mark.process  # a live mock

HEADERS = {"Authorization": "Bearer sk-mock-local"}
BODY = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def _error_shape(response: httpx.Response) -> dict[str, object]:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error, dict)
    return error


def test_error_rate_is_within_statistical_bounds() -> None:
    n, rate = 600, 0.25
    with (
        mock_llm(
            "--ttft-ms",
            "0",
            "--itl-ms",
            "0",
            "--error-rate",
            str(rate),
            "--seed",
            "3",
            "--error-codes",
            "429,500",
        ) as base,
        httpx.Client(base_url=base, headers=HEADERS) as client,
    ):
        statuses = [client.post("/chat/completions", json=BODY).status_code for _ in range(n)]
        stats = httpx.get(base.removesuffix("/v1") + "/stats").json()
    failed = sum(s != 200 for s in statuses)
    # Binomial(600, 0.25): mean 150, sd 10.6; 4 sd either side.
    assert 108 <= failed <= 192
    assert set(statuses) == {200, 429, 500}
    assert stats["errors_total"] == failed
    assert stats["errors"] == {
        "429": statuses.count(429),
        "500": statuses.count(500),
    }
    assert stats["completed"] == n - failed


@pytest.mark.parametrize("code", [429, 500, 503])
def test_header_forces_one_status(fast_mock: str, code: int) -> None:
    response = httpx.post(
        f"{fast_mock}/chat/completions", json=BODY, headers={**HEADERS, "X-Mock-Error": str(code)}
    )
    assert response.status_code == code
    _error_shape(response)
    assert (response.headers.get("retry-after") == "1") == (code == 429)
    # The next request is not affected.
    assert httpx.post(f"{fast_mock}/chat/completions", json=BODY, headers=HEADERS).is_success


def test_marker_in_prompt_forces_a_fault(fast_mock: str) -> None:
    body = {**BODY, "messages": [{"role": "user", "content": "x [mock-error:503] y"}]}
    assert (
        httpx.post(f"{fast_mock}/chat/completions", json=body, headers=HEADERS).status_code == 503
    )


def test_stall_never_answers(fast_mock: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{fast_mock}/chat/completions",
            json=BODY,
            headers={**HEADERS, "X-Mock-Error": "stall"},
            timeout=httpx.Timeout(5.0, read=0.5),
        )


def test_disconnect_non_streaming_drops_the_connection(fast_mock: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            f"{fast_mock}/chat/completions",
            json=BODY,
            headers={**HEADERS, "X-Mock-Error": "disconnect"},
        )


def test_disconnect_mid_stream_after_half_the_tokens(fast_mock: str) -> None:
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST",
            f"{fast_mock}/chat/completions",
            json={**BODY, "max_tokens": 10, "stream": True},
            headers={**HEADERS, "X-Mock-Error": "disconnect"},
        ) as response,
    ):
        assert response.status_code == 200
        lines.extend(line for line in response.iter_lines() if line.startswith("data:"))
    # Tokens 0-4 arrived (after the role chunk), then the line dropped.
    texts = [line for line in lines if '"content":"' in line and '"content":""' not in line]
    assert len(texts) == 5
    assert "data: [DONE]" not in lines


def test_malformed_answers(fast_mock: str) -> None:
    faulty = {**HEADERS, "X-Mock-Error": "malformed"}
    response = httpx.post(f"{fast_mock}/chat/completions", json=BODY, headers=faulty)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    stream = httpx.post(
        f"{fast_mock}/chat/completions", json={**BODY, "stream": True}, headers=faulty
    )
    assert "data: {not json" in stream.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nope"}, 401), ({"Authorization": "sk-mock-local"}, 401)],
)
def test_auth(fast_mock: str, headers: dict[str, str], status: int) -> None:
    response = httpx.post(f"{fast_mock}/chat/completions", json=BODY, headers=headers)
    assert response.status_code == status
    assert _error_shape(response)["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', "messages[0].role"),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
            "max_tokens",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": true}',
            "max_tokens",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            "stream",
        ),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": "[mock-error:999]"}]}',
            "messages",
        ),
    ],
)
def test_malformed_requests_get_openai_400(fast_mock: str, body: bytes, param: str | None) -> None:
    response = httpx.post(f"{fast_mock}/chat/completions", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert _error_shape(response)["param"] == param


def test_unknown_route_and_method(fast_mock: str) -> None:
    root = fast_mock.removesuffix("/v1")
    assert httpx.get(f"{root}/nope").status_code == 404
    assert httpx.get(f"{fast_mock}/chat/completions").status_code == 405
    _error_shape(httpx.delete(f"{root}/health"))


def test_oversized_body_is_rejected(fast_mock: str) -> None:
    big = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * (2 << 20) + b'"}]}'
    response = httpx.post(f"{fast_mock}/chat/completions", content=big, headers=HEADERS)
    assert response.status_code == 413


def _root(base: str) -> str:
    return base.removesuffix("/v1")


def test_faults_set_while_serving_reach_every_worker() -> None:
    with (
        mock_llm("--workers", "2", "--ttft-ms", "0", "--itl-ms", "0") as base,
        httpx.Client(headers=HEADERS) as client,
    ):
        answer = httpx.post(f"{_root(base)}/faults", json={"rate": 1.0, "codes": [503]})
        assert answer.json() == {"rate": 1.0, "codes": ["503"], "start": None, "end": None}
        # A new connection each time, so that both workers answer some.
        close = {"Connection": "close"}
        statuses = {
            client.post(f"{base}/chat/completions", json=BODY, headers=close).status_code
            for _ in range(30)
        }
        assert statuses == {503}
        httpx.post(f"{_root(base)}/faults", json={"rate": 0})
        statuses = {
            client.post(f"{base}/chat/completions", json=BODY, headers=close).status_code
            for _ in range(30)
        }
        assert statuses == {200}
        stats = httpx.get(f"{_root(base)}/stats").json()
    assert stats["errors"] == {"503": 30}
    assert stats["faults"]["rate"] == 0.0


def test_a_fault_window_applies_between_its_times_only(fast_mock: str) -> None:
    root = _root(fast_mock)
    now = time.time()
    start, end = now + 1.0, now + 3.0
    window = {"rate": 1.0, "codes": ["429"], "start": start, "end": end}
    assert httpx.post(f"{root}/faults", json=window).status_code == 200
    url = f"{fast_mock}/chat/completions"
    asked = []  # (sent, answered, status): each request at its time, wherever it landed
    for at in (now, now + 1.5, now + 3.5):
        time.sleep(max(0.0, at - time.time()))
        sent = time.time()
        status = httpx.post(url, json=BODY, headers=HEADERS).status_code
        asked.append((sent, time.time(), status))
    httpx.post(f"{root}/faults", json={"rate": 0})
    # A request wholly before, inside or after the window is judged by where it was; on
    # a loaded machine one sent 0.6 s ahead of a window's start once reached the mock
    # inside it, so the requests are half a second or more from the edges, and one that
    # still straddles an edge may get either answer.
    inside = 0
    for sent, answered, status in asked:
        if answered < start or sent > end:
            assert status == 200, asked
        elif start < sent and answered < end:
            assert status == 429, asked
            inside += 1
    # The middle request is sent 1.5 s before the window ends: it is judged inside
    # unless the machine held it that long.
    assert inside == 1, asked


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rate": 2, "codes": [500]}, "rate"),
        ({"rate": 0.5, "codes": ["teapot"]}, "codes"),
        ({"rate": 0.5}, "at least one fault"),
        ({"rate": 0.5, "codes": [500], "start": 10, "end": 5}, "end must be after start"),
        ([1, 2], "JSON object"),
    ],
)
def test_a_bad_fault_document_gets_400_and_changes_nothing(
    fast_mock: str, document: object, message: str
) -> None:
    root = _root(fast_mock)
    before = httpx.get(f"{root}/faults").json()
    answer = httpx.post(f"{root}/faults", json=document)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    assert httpx.get(f"{root}/faults").json() == before


def test_a_dropped_stream_is_timed_until_its_call_closes(fast_mock: str) -> None:
    """The client reads 3 tokens and hangs up: the mock times the close from token 3."""
    body = {
        **BODY,
        "max_tokens": 20,
        "stream": True,
        "messages": [{"role": "user", "content": "hi [mock-drop-after:3]"}],
    }
    root = _root(fast_mock)
    httpx.post(f"{root}/stats/reset")
    for _ in range(3):
        with (
            httpx.Client(headers=HEADERS) as client,
            client.stream("POST", f"{fast_mock}/chat/completions", json=body) as response,
        ):
            tokens = 0
            for line in response.iter_lines():
                if '"content":"' in line.replace(" ", "") and '"content":""' not in line:
                    tokens += 1
                if tokens == 3:
                    break
        # Leaving both blocks closes the connection: a client going away.
    # A whole stream with the marker, read to the end, is a missed cancel.
    with httpx.Client(headers=HEADERS) as client:
        client.post(f"{fast_mock}/chat/completions", json=body).raise_for_status()
    time.sleep(0.2)
    cancel = httpx.get(f"{root}/stats").json()["cancel"]
    assert cancel["count"] == 3
    assert cancel["missed"] == 1
    assert 0 <= cancel["mean_ms"] <= cancel["max_ms"] < 200
    assert sum(cancel["buckets_ms"].values()) == 3
