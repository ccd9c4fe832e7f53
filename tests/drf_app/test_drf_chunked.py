"""The middlewares that give a chunked request body its length (drf_app/chunked.py), in process.

The smoke test (test_drf_smoke.py) sends real chunked requests to every server model.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application

from drf_app.chunked import ChunkedBodyASGIMiddleware, ChunkedBodyWSGIMiddleware

LIMIT = 65536


def json_body_of_size(size: int) -> bytes:
    """A body {"prompt": "xxx…"} of exactly `size` bytes."""
    shell = b'{"prompt": ""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


class TrickleStream(io.RawIOBase):
    """A wsgi.input that returns at most `step` bytes per read, as a socket may."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self.data, self.step, self.offset = data, step, 0

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.offset : self.offset + size]
        self.offset += len(chunk)
        return chunk


def wsgi_environ(body: bytes, **extra: Any) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/complete",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": TrickleStream(body),
        "wsgi.input_terminated": True,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    return {**environ, **extra}


def call_wsgi(environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run the sync views behind the WSGI middleware; return the status and JSON body."""
    app = ChunkedBodyWSGIMiddleware(get_wsgi_application())
    started: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append(status)

    body = b"".join(app(environ, start_response))
    return int(started[0].split()[0]), json.loads(body)


@pytest.mark.process  # a live mock answers the small body
@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(json.dumps({"prompt": "hi", "max_tokens": 2}).encode(), 200, id="small"),
        pytest.param(json_body_of_size(LIMIT), 422, id="64-kib"),
        pytest.param(json_body_of_size(LIMIT + 1), 413, id="64-kib-plus-1"),
        pytest.param(json_body_of_size(3 * LIMIT), 413, id="192-kib"),
    ],
)
def test_wsgi_chunked_body_is_read_up_to_the_limit(
    upstream: Callable[..., None], body: bytes, status: int
) -> None:
    got, answer = call_wsgi(wsgi_environ(body))
    assert got == status, answer
    if status == 200:
        assert answer["response"]
    elif status == 422:  # read whole: the prompt is too long, not missing or cut off
        assert answer["detail"][0]["type"] == "max_length"
    else:  # Django's own limit, as for a declared Content-Length
        assert answer == {"detail": "request body is larger than 65536 bytes"}


def recording_wsgi_app(seen: list[dict[str, Any]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append({**environ, "body": environ["wsgi.input"].read()})
        start_response("200 OK", [])
        return [b""]

    return app


def test_wsgi_reads_at_most_one_byte_past_the_limit() -> None:
    seen: list[dict[str, Any]] = []
    stream = TrickleStream(b"x" * (5 * LIMIT))
    environ = wsgi_environ(b"", **{"wsgi.input": stream})
    list(ChunkedBodyWSGIMiddleware(recording_wsgi_app(seen))(environ, lambda *a: None))
    assert seen[0]["CONTENT_LENGTH"] == str(LIMIT + 1)
    assert len(seen[0]["body"]) == LIMIT + 1
    assert stream.offset == LIMIT + 1


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"CONTENT_LENGTH": "2"}, id="declared-length"),
        pytest.param({"HTTP_TRANSFER_ENCODING": None}, id="no-body"),
        pytest.param({"wsgi.input_terminated": False}, id="input-not-terminated"),
    ],
)
def test_wsgi_leaves_other_requests_alone(extra: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []
    environ = wsgi_environ(b"{}")
    environ.update(extra)
    environ = {key: value for key, value in environ.items() if value is not None}
    list(ChunkedBodyWSGIMiddleware(recording_wsgi_app(seen))(environ, lambda *a: None))
    assert seen[0].get("CONTENT_LENGTH") == extra.get("CONTENT_LENGTH")
    assert isinstance(seen[0]["wsgi.input"], TrickleStream)


# ASGI: the middleware in front of a recording app


def asgi_messages(body: bytes, step: int = 8192) -> list[dict[str, Any]]:
    parts = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    return [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]


def run_asgi(
    headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]], receive_after: int = 1
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
    """Send `messages`, then http.disconnect; the app receives once, then `receive_after`
    times more (as Django waits for a disconnect). Return its scope, what it received and
    how many messages the middleware took from the server."""
    queue = [*messages, {"type": "http.disconnect"}]
    taken = 0
    seen: dict[str, Any] = {"scope": None, "received": []}

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        return queue.pop(0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["scope"] = scope
        for _ in range(1 + receive_after):
            seen["received"].append(await receive())

    async def send(message: Mapping[str, Any]) -> None:
        raise AssertionError("the middleware answers nothing itself")

    scope = {"type": "http", "method": "POST", "path": "/complete", "headers": headers}
    asyncio.run(ChunkedBodyASGIMiddleware(app)(scope, receive, send))
    return seen["scope"], seen["received"], taken


CHUNKED = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]


def test_asgi_chunked_body_is_replayed_whole_with_its_length() -> None:
    body = json_body_of_size(20000)
    scope, received, _ = run_asgi(CHUNKED, asgi_messages(body, step=16))
    assert scope is not None
    assert (b"content-length", b"20000") in scope["headers"]
    assert received == [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]


def test_asgi_body_past_the_limit_is_cut_and_the_rest_discarded() -> None:
    messages = asgi_messages(b"x" * (10 * LIMIT))
    scope, received, taken = run_asgi(CHUNKED, messages)
    assert scope is not None
    [length] = [value for name, value in scope["headers"] if name == b"content-length"]
    # One message past the limit is read; Django refuses the body from its length.
    assert LIMIT < int(length) <= LIMIT + 8192
    assert received[0]["more_body"] is False and len(received[0]["body"]) == int(length)
    # While the app waits for a disconnect, the rest of the body is read and dropped.
    assert received[1] == {"type": "http.disconnect"}
    assert taken == len(messages) + 1


def test_asgi_client_leaving_mid_body_is_not_answered() -> None:
    scope, received, _ = run_asgi(CHUNKED, asgi_messages(b"x" * 100, step=10)[:3])
    assert scope is None and received == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([(b"content-length", b"2")], id="declared-length"),
        pytest.param([(b"content-type", b"application/json")], id="no-body"),
    ],
)
def test_asgi_leaves_other_requests_alone(headers: list[tuple[bytes, bytes]]) -> None:
    messages = asgi_messages(b"{}")
    scope, received, _ = run_asgi(headers, messages, receive_after=0)
    assert scope is not None and scope["headers"] == headers
    assert received == messages
