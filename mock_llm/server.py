"""A lean HTTP/1.1 server for the mock: httptools parsing on a uvloop event loop.

No framework and no task per request: a timed answer is one `loop.call_at`
callback and one socket write, which is what lets one core hold thousands of
requests in flight with only a few milliseconds added to the set latency.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import socket
from collections.abc import Callable
from typing import Any, cast

import httptools
import uvloop

from mock_llm import wire
from mock_llm.service import Action, Drop, MockService, Reply, Stall, Stream

MAX_BODY_BYTES = 1 << 20
_BAD_REQUEST = wire.response(
    400, wire.error_body(400, "malformed HTTP request"), wire.JSON_HEADERS, keep_alive=False
)


class ParsedRequest:
    """One parsed request waiting for its turn on a connection."""

    __slots__ = ("auth", "body", "fault", "keep_alive", "method", "path", "t0")

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.path = b""
        self.method = b""
        self.auth: bytes | None = None
        self.fault: bytes | None = None
        self.body: bytearray | None = bytearray()
        self.keep_alive = True


class Connection(asyncio.Protocol):
    """One client connection; answers its requests in order (pipelining-safe)."""

    def __init__(self, service: MockService, loop: asyncio.AbstractEventLoop) -> None:
        self._service = service
        self._loop = loop
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._reading: ParsedRequest | None = None
        self._queue: collections.deque[ParsedRequest] = collections.deque()
        self._busy = False  # a request is being answered
        self._counted = False  # ... and it is one the stats count in flight
        self._timer: asyncio.TimerHandle | None = None
        self._stream: Stream | None = None
        self._token = 0
        self._dropped_at: float | None = None  # when the token the client drops after went out
        self._keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._abort_with_400()
        except httptools.HttpParserError:
            self._abort_with_400()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._stream is not None and self._dropped_at is not None:
            self._service.stats.cancel(self._loop.time() - self._dropped_at)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._finish(completed=False)
        self._queue.clear()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reading = ParsedRequest(self._loop.time())

    def on_url(self, url: bytes) -> None:
        assert self._reading is not None
        self._reading.path += url

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self._reading
        assert request is not None
        name = name.lower()
        if name == b"authorization":
            request.auth = value
        elif name == b"x-mock-error":
            request.fault = value
        elif name == b"expect" and value.lower() == b"100-continue" and self._transport:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        request = self._reading
        assert request is not None
        if request.body is not None:
            request.body += body
            if len(request.body) > MAX_BODY_BYTES:
                request.body = None

    def on_message_complete(self) -> None:
        request = self._reading
        assert request is not None
        self._reading = None
        request.method = self._parser.get_method()
        request.keep_alive = bool(self._parser.should_keep_alive())
        query = request.path.find(b"?")
        if query >= 0:
            request.path = request.path[:query]
        self._queue.append(request)
        if not self._busy:
            self._next()

    # answering
    def _next(self) -> None:
        while self._queue and not self._busy and self._transport is not None:
            self._begin(self._queue.popleft())

    def _begin(self, request: ParsedRequest) -> None:
        """Decide the answer to the next request and start it (the request log's hook)."""
        body = bytes(request.body) if request.body is not None else None
        action = self._service.handle(
            request.method, request.path, request.auth, request.fault, body, request.t0
        )
        self._keep_alive = request.keep_alive
        self._start(action)

    def _start(self, action: Action) -> None:
        self._busy = True
        if isinstance(action, Reply):
            self._counted = action.counted
            if action.at is None or action.at <= self._loop.time():
                self._send_reply(action)
            else:
                self._timer = self._loop.call_at(action.at, self._send_reply, action)
        elif isinstance(action, Stream):
            self._counted = True
            self._stream = action
            self._token = 0
            self._dropped_at = None
            first = action.start + action.first_delay
            self._timer = self._loop.call_at(first, self._send_first_token)
        elif isinstance(action, Drop):
            self._counted = True
            self._timer = self._loop.call_at(action.at, self._drop)
        elif isinstance(action, Stall):
            self._counted = True

    def _send_reply(self, reply: Reply) -> None:
        self._timer = None
        if self._transport is None:
            return
        self._transport.write(
            wire.response(reply.status, reply.body, reply.headers, self._keep_alive)
        )
        self._done(completed=reply.counted and reply.status == 200 and reply.body[-1:] == b"}")

    def _drop(self) -> None:
        self._timer = None
        if self._transport is not None:
            head = wire.response(200, b"", wire.JSON_HEADERS, keep_alive=True)
            # Promise a body, then hang up: the client sees a truncated answer.
            self._transport.write(head.replace(b"content-length: 0", b"content-length: 1000"))
            self._transport.close()

    def _send_token(self) -> None:
        stream, transport = self._stream, self._transport
        self._timer = None
        if stream is None or transport is None:
            return
        k = self._token
        if k == stream.cut:
            transport.close()
            return
        if k == stream.malformed:
            transport.write(wire.chunk(b"data: {not json\n\n" + wire.DONE) + wire.LAST_CHUNK)
            self._done(completed=False)
            return
        data = stream.writer.token(k)
        if k == 0:
            data = wire.stream_head(self._keep_alive) + wire.chunk(stream.writer.role() + data)
        else:
            data = wire.chunk(data)
        self._service.stats.add("tokens")
        k += 1
        self._token = k
        if k == stream.n:
            transport.write(data + wire.chunk(stream.tail) + wire.LAST_CHUNK)
            if 0 < stream.drop_after < k:  # the client left, the service kept generating
                self._service.stats.add("cancel_missed")
            self._done(completed=True)
            return
        transport.write(data)
        if k == stream.drop_after:
            self._dropped_at = self._loop.time()
        self._timer = self._loop.call_at(stream.start + k * stream.itl, self._send_token)

    # Token 0 of a stream, the same call under a name of its own: the request log's
    # connection (mock_llm.recording) times it without a cost to every other token.
    _send_first_token = _send_token

    def _finish(self, completed: bool) -> None:
        if self._busy and self._counted:
            self._service.stats.end(completed)
        self._busy = False
        self._counted = False
        self._stream = None

    def _done(self, completed: bool) -> None:
        self._finish(completed)
        if not self._keep_alive:
            if self._transport is not None:
                self._transport.close()
            return
        if self._queue:
            self._next()

    def _abort_with_400(self) -> None:
        if self._transport is not None:
            self._transport.write(_BAD_REQUEST)
            self._transport.close()


BACKLOG = 8192  # connections waiting to be accepted (the kernel caps it at somaxconn)


def listening_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """Bind and listen; the socket can be shared by forked workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


ConnectionFactory = Callable[[MockService, asyncio.AbstractEventLoop], asyncio.Protocol]


async def _serve(service: MockService, sock: socket.socket, connection: ConnectionFactory) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The backlog again: create_server listens anew, with asyncio's default of 100.
    server = await loop.create_server(lambda: connection(service, loop), sock=sock, backlog=BACKLOG)
    async with server:
        await stop.wait()


def serve(
    service: MockService, sock: socket.socket, connection: ConnectionFactory = Connection
) -> None:
    """Serve on `sock` until SIGTERM or SIGINT, one `connection` per client connection."""
    runner: Any = uvloop.run
    runner(_serve(service, sock, connection))
