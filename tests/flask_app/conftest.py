"""Fixtures of the Flask service's tests: a live mock LLM, a recording upstream, apps."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from flask_app import create_app
from tests.support import mock_llm

CLIENTS = ["httpx", "openai", "urllib3"]

AppFactory = Callable[..., FlaskClient]


@pytest.fixture(scope="session")
def mock_base() -> Iterator[str]:
    """A live mock LLM, fast enough for functional tests."""
    with mock_llm("--ttft-ms", "20", "--itl-ms", "2", "--output-tokens", "8") as base:
        yield base


@pytest.fixture
def make_client() -> Iterator[AppFactory]:
    """Build a test client for an app with the given config; close its upstream pool after."""
    apps = []

    def make(**config: Any) -> FlaskClient:
        app = create_app({"TESTING": True, **config})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["llm"].close()


class Recorder:
    """What the recording upstream received: path, headers (lower-case names), JSON body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []


# Role-only and empty chunks must not be forwarded; the usage chunk has no choices.
_CHUNKS: list[dict[str, Any]] = [
    {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
    {"choices": [{"index": 0, "delta": {"content": "Hel"}}]},
    {"choices": [{"index": 0, "delta": {"content": ""}}]},
    {"choices": [{"index": 0, "delta": {"content": "lo"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
]
_COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def _chunk(data: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m", **data}


class _RecordingHandler(BaseHTTPRequestHandler):
    recorder: Recorder

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.recorder.requests.append((self.path, headers, body))
        self.send_response(200)
        if body.get("stream"):
            # HTTP/1.0 without a length: the body ends when the connection closes, the
            # framing that urllib3 cannot read chunk by chunk.
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for data in _CHUNKS:
                self.wfile.write(b"data: " + json.dumps(_chunk(data)).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
        else:
            payload = json.dumps(_COMPLETION).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_upstream() -> Iterator[tuple[str, Recorder]]:
    """A canned OpenAI-compatible upstream that records every request it receives."""
    recorder = Recorder()
    handler = type("Handler", (_RecordingHandler,), {"recorder": recorder})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
