"""A tiny service stub that speaks the service contract with set timings, for Locust tests.

Run with `python -m uvicorn tests.bench.contract_stub:app --port N`. Settings (env):
STUB_DELAY_MS (POST /complete answers after it, default 50), STUB_TTFT_MS (first
stream delta, default 100), STUB_ITL_MS (between deltas, default 20), STUB_TOKENS
(cap on deltas per stream, default 10). A prompt containing "fail" makes /complete
answer 503 and the stream send `event: error` after two deltas; "cut" makes the stream
close after two deltas without `event: done`; "bare" breaks the error contract: /complete
answers 502 with an HTML page and the stream's `event: error` has no `detail`.

GET /stats lists every answer the stub finished as [path, status or kind, unix time]
(kind "gone": a stream whose client had hung up before its end);
POST /stats/reset clears it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DELAY_S = float(os.environ.get("STUB_DELAY_MS", "50")) / 1000
TTFT_S = float(os.environ.get("STUB_TTFT_MS", "100")) / 1000
ITL_S = float(os.environ.get("STUB_ITL_MS", "20")) / 1000
TOKENS = int(os.environ.get("STUB_TOKENS", "10"))

served: list[tuple[str, str, float]] = []


async def read_json(receive: Receive) -> dict[str, Any]:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data: dict[str, Any] = json.loads(body) if body else {}
    return data


async def send_json(send: Send, status: int, payload: object) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def complete(send: Send, request: dict[str, Any]) -> None:
    await asyncio.sleep(DELAY_S)
    if "bare" in request.get("prompt", ""):
        page = b"<html><body>Bad Gateway</body></html>"
        headers = [(b"content-type", b"text/html"), (b"content-length", str(len(page)).encode())]
        await send({"type": "http.response.start", "status": 502, "headers": headers})
        await send({"type": "http.response.body", "body": page})
        served.append(("/complete", "502", time.time()))
        return
    if "fail" in request.get("prompt", ""):
        await send_json(send, 503, {"detail": "upstream is overloaded"})
        served.append(("/complete", "503", time.time()))
        return
    tokens = min(int(request.get("max_tokens", 512)), TOKENS)
    await send_json(send, 200, {"response": "ok " * tokens, "tokens_used": tokens})
    served.append(("/complete", "200", time.time()))


async def stream(send: Send, receive: Receive, request: dict[str, Any]) -> None:
    # The body is read: the next message is the client going away, if it does.
    gone = asyncio.ensure_future(receive())
    try:
        await _stream(send, request)
    finally:
        if gone.done():
            served[-1] = ("/complete/stream", "gone", served[-1][2])
        gone.cancel()


async def _stream(send: Send, request: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    prompt = request.get("prompt", "")
    tokens = min(int(request.get("max_tokens", 512)), TOKENS)
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for k in range(tokens):
        # an absolute schedule, so that sleeping never adds drift
        await asyncio.sleep(max(0.0, t0 + TTFT_S + k * ITL_S - time.perf_counter()))
        if k == 2 and ("fail" in prompt or "bare" in prompt):
            data = b"upstream broke" if "bare" in prompt else b'{"detail": "upstream broke"}'
            event = b"event: error\ndata: " + data + b"\n\n"
            await send({"type": "http.response.body", "body": event})
            served.append(("/complete/stream", "error", time.time()))
            return
        if k == 2 and "cut" in prompt:
            served.append(("/complete/stream", "cut", time.time()))
            raise ConnectionAbortedError("the stub cuts this stream on purpose")
        delta = json.dumps({"delta": f"tok{k} "}).encode()
        await send(
            {"type": "http.response.body", "body": b"data: " + delta + b"\n\n", "more_body": True}
        )
    done = f'event: done\ndata: {{"tokens_used": {tokens}}}\n\n'.encode()
    await send({"type": "http.response.body", "body": done})
    served.append(("/complete/stream", "200", time.time()))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    route = (scope["method"], scope["path"])
    request = await read_json(receive) if scope["method"] == "POST" else {}
    if route == ("GET", "/hello"):
        await send_json(send, 200, {"message": "Hello from the stub"})
        served.append(("/hello", "200", time.time()))
    elif route == ("POST", "/complete"):
        await complete(send, request)
    elif route == ("POST", "/complete/stream"):
        await stream(send, receive, request)
    elif route == ("GET", "/stats"):
        await send_json(send, 200, served)
    elif route == ("POST", "/stats/reset"):
        served.clear()
        await send_json(send, 200, {"reset": True})
    else:
        await send_json(send, 404, {"detail": "not found"})
