"""What every upstream client sends: one chat.completions request of the agreed shape."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import AsyncClient, Client

from tests.drf_app.support import ASYNC_CLIENTS, SYNC_CLIENTS, run_async, streaming
from tests.services.sse import parse_events

USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there"},
            "finish_reason": "stop",
        }
    ],
    "usage": USAGE,
}


def _chunk(delta: dict[str, str] | None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}]
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return b"data: " + json.dumps({**event, "choices": choices, "usage": usage}).encode() + b"\n\n"


STREAM = (
    _chunk({"role": "assistant", "content": ""})
    + _chunk({"content": "Hi"})
    + _chunk({"content": " there"})
    + _chunk(None, USAGE)
    + b"data: [DONE]\n\n"
)


class Recorder(BaseHTTPRequestHandler):
    """Record each request; answer 500 when asked to, else a fixed completion or stream."""

    seen: list[tuple[str, dict[str, str], dict[str, Any]]]
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.seen.append((self.path, headers, body))
        if self.status != 200:
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "boom", "type": "server_error"}}')
            return
        streaming = body.get("stream")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if streaming else "application/json")
        self.end_headers()
        self.wfile.write(STREAM if streaming else json.dumps(COMPLETION).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[type[Recorder]]:
    handler = type("Handler", (Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    handler.base_url = f"http://127.0.0.1:{server.server_port}/v1"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _expect_request(seen: list[Any], *, stream: bool) -> None:
    [(path, headers, body)] = seen
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-recorded"
    assert body["model"] == "recorded-model"
    assert body["messages"] == [{"role": "user", "content": "Say hi"}]
    assert body["max_tokens"] == 7
    assert bool(body.get("stream")) is stream
    if stream:
        assert body["stream_options"] == {"include_usage": True}


def _point(point: Callable[..., None], recorder: type[Recorder], llm_client: str) -> None:
    point(
        recorder.base_url,  # type: ignore[attr-defined]
        client=llm_client,
        api_key="sk-recorded",
        model="recorded-model",
    )


BODY = json.dumps({"prompt": "Say hi", "max_tokens": 7})


@pytest.mark.parametrize("llm_client", SYNC_CLIENTS)
def test_sync_client_request_shape(
    point: Callable[..., None], recorder: type[Recorder], llm_client: str
) -> None:
    _point(point, recorder, llm_client)
    api = Client()
    answer = api.post("/complete", BODY, content_type="application/json").json()
    assert answer == {"response": "Hi there", "tokens_used": 7}
    _expect_request(recorder.seen, stream=False)
    recorder.seen.clear()
    response = api.post("/complete/stream", BODY, content_type="application/json")
    events = parse_events(b"".join(streaming(response)))
    assert [(event.name, event.data) for event in events] == [
        ("message", {"delta": "Hi"}),
        ("message", {"delta": " there"}),
        ("done", {"tokens_used": 7}),
    ]
    _expect_request(recorder.seen, stream=True)


@pytest.mark.parametrize("llm_client", ASYNC_CLIENTS)
def test_async_client_request_shape(
    point: Callable[..., None], recorder: type[Recorder], llm_client: str
) -> None:
    _point(point, recorder, llm_client)

    async def complete(api: AsyncClient) -> Any:
        return (await api.post("/complete", BODY, content_type="application/json")).json()

    async def stream(api: AsyncClient) -> bytes:
        response = await api.post("/complete/stream", BODY, content_type="application/json")
        return b"".join([part async for part in streaming(response)])

    assert run_async(complete) == {"response": "Hi there", "tokens_used": 7}
    _expect_request(recorder.seen, stream=False)
    recorder.seen.clear()
    events = parse_events(run_async(stream))
    assert [(event.name, event.data) for event in events] == [
        ("message", {"delta": "Hi"}),
        ("message", {"delta": " there"}),
        ("done", {"tokens_used": 7}),
    ]
    _expect_request(recorder.seen, stream=True)


@pytest.mark.parametrize("llm_client", SYNC_CLIENTS + [f"async:{name}" for name in ASYNC_CLIENTS])
def test_no_retry_on_upstream_error(
    point: Callable[..., None], recorder: type[Recorder], llm_client: str
) -> None:
    recorder.status = 500
    name = llm_client.removeprefix("async:")
    _point(point, recorder, name)
    if llm_client.startswith("async:"):

        async def scenario(api: AsyncClient) -> int:
            response = await api.post("/complete", BODY, content_type="application/json")
            return response.status_code

        status = run_async(scenario)
    else:
        status = Client().post("/complete", BODY, content_type="application/json").status_code
    assert status == 502
    assert len(recorder.seen) == 1


@pytest.mark.parametrize("llm_client", SYNC_CLIENTS + [f"async:{name}" for name in ASYNC_CLIENTS])
def test_nul_prompt_and_integral_float_max_tokens_go_upstream_intact(
    point: Callable[..., None], recorder: type[Recorder], llm_client: str
) -> None:
    # The contract's prompt is any string (DRF's CharField refuses NUL by default), and
    # JSON Schema counts 7.0 as an integer: both reach the upstream, 7.0 as the integer 7.
    name = llm_client.removeprefix("async:")
    _point(point, recorder, name)
    body = json.dumps({"prompt": "a\u0000b", "max_tokens": 7.0})
    if llm_client.startswith("async:"):

        async def scenario(api: AsyncClient) -> int:
            response = await api.post("/complete", body, content_type="application/json")
            return response.status_code

        status = run_async(scenario)
    else:
        status = Client().post("/complete", body, content_type="application/json").status_code
    assert status == 200
    [(_, _, sent)] = recorder.seen
    assert sent["messages"] == [{"role": "user", "content": "a\x00b"}]
    assert sent["max_tokens"] == 7 and type(sent["max_tokens"]) is int  # 7 on the wire, not 7.0
