"""Helpers of the Flask service's tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from flask.testing import FlaskClient

CLIENTS = ["httpx", "openai", "urllib3"]
# Nothing listens on port 9 (discard): a test given it must never reach an upstream.
NO_UPSTREAM = "http://127.0.0.1:9/v1"

AppFactory = Callable[..., FlaskClient]
"""`make_client(**config)`: a test client on an app created with that config."""


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


class RecordingHandler(BaseHTTPRequestHandler):
    """Answer the canned completion or stream; record each request in `recorder`."""

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
