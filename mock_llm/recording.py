"""The request log (`--request-log PATH`): one CSV line per chat completion call, as it ends.

    request_id,received_at,first_token_at,ended_at,status,stream,tokens,fault

docs/contract.md (the mock's contract) says what each column holds. The file is started
anew with its header row before the workers fork; each worker then appends to it through
a descriptor of its own opened with O_APPEND, in whole lines: the kernel places every
write at the end of the file, so the workers' lines never overwrite or split each other
(on a local file system). Lines wait in a buffer, written once a second at most after the
first of them, sooner past 64 KiB, and at shutdown: a crash loses a second of calls.

None of this exists when the option is off: the mock then runs the plain MockService and
Connection, whose hot path does nothing for the log. With it on, a call costs a few
attribute writes, three clock reads and one formatted line.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from types import TracebackType
from typing import cast

from mock_llm.config import MockConfig
from mock_llm.faults import FaultModel
from mock_llm.request import ChatRequest
from mock_llm.server import Connection, ParsedRequest, serve
from mock_llm.service import Action, Drop, MockService, Reply, Stream
from mock_llm.stats import SharedStats

HEADER_ROW = b"request_id,received_at,first_token_at,ended_at,status,stream,tokens,fault\n"
FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 64 * 1024
CHAT_PATH = b"/v1/chat/completions"
# Fault kinds that replace the status: what the client got was a dropped connection or
# nothing at all, whatever status line may have gone out first.
_STATUS_FAULTS = (b"disconnect", b"stall")


def create(path: str) -> None:
    """Start the log file anew with its header row (once, before any worker writes)."""
    with open(path, "wb") as file:
        file.write(HEADER_ROW)


class RequestLog:
    """One worker's writer: whole lines, buffered, appended to the shared file."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._failed = False

    def __enter__(self) -> RequestLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, line: bytes) -> None:
        """Add one line; it reaches the file within FLUSH_INTERVAL_S."""
        self._buffer += line
        if len(self._buffer) >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

    def flush(self) -> None:
        """Write the buffered lines in one append."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        data, self._buffer = bytes(self._buffer), bytearray()
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            # The mock goes on serving: a full disk must not fail the calls themselves.
            if not self._failed:
                self._failed = True
                print(f"mock_llm: request log: {exc.strerror}; lines dropped", file=sys.stderr)

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        os.close(self._fd)


def csv_field(value: bytes) -> bytes:
    """Quote a field as CSV does when it holds a comma or a quote (RFC 4180)."""
    if b"," in value or b'"' in value:
        return b'"' + value.replace(b'"', b'""') + b'"'
    return value


class RecordingService(MockService):
    """The MockService, telling the connection what the chat call it decided asked for."""

    def __init__(
        self,
        config: MockConfig,
        stats: SharedStats,
        worker: int = 0,
        faults: FaultModel | None = None,
    ) -> None:
        super().__init__(config, stats, worker, faults)
        self.asked: ChatRequest | None = None  # the valid chat request last answered
        self.length = 0  # and its tokens

    def _answer(self, request: ChatRequest, t0: float) -> Action:
        self.asked = request
        return super()._answer(request, t0)

    def _length(self, request: ChatRequest) -> tuple[int, str]:
        n, finish = super()._length(request)
        self.length = n
        return n, finish


class _RecordedRequest(ParsedRequest):
    """A parsed request, with its wall-clock arrival and its X-Request-ID."""

    __slots__ = ("received", "request_id")

    def __init__(self, t0: float) -> None:
        super().__init__(t0)
        self.received = time.time()
        self.request_id = b""


class Call:
    """What the log says of one chat completion call."""

    __slots__ = ("fault", "first", "received", "request_id", "status", "stream", "tokens")

    def __init__(self, request_id: bytes, received: float) -> None:
        self.request_id = request_id
        self.received = received
        self.first = 0.0  # when token 0 went out
        self.status = b""  # the HTTP status sent, empty while none
        self.stream = False
        self.tokens = 0
        self.fault = b""

    def line(self, ended: float) -> bytes:
        """The CSV line of the call, ended at `ended` (Unix seconds)."""
        first = b"%.6f" % self.first if self.tokens and self.stream else b""
        status = self.fault if self.fault in _STATUS_FAULTS else self.status
        return b"%s,%.6f,%s,%.6f,%s,%d,%d,%s\n" % (
            self.request_id,
            self.received,
            first,
            ended,
            status,
            self.stream,
            self.tokens,
            self.fault,
        )


def fault_of(action: Action) -> bytes:
    """The fault injected into a chat call's answer, empty when none."""
    if isinstance(action, Reply):
        if not action.counted:  # refused before service (400, 401, 413): no fault
            return b""
        if action.status != 200:
            return b"%d" % action.status
        return b"" if action.body[-1:] == b"}" else b"malformed"
    if isinstance(action, Stream):
        if action.cut >= 0:
            return b"disconnect"
        return b"malformed" if action.malformed >= 0 else b""
    return b"disconnect" if isinstance(action, Drop) else b"stall"


class RecordingConnection(Connection):
    """A Connection that writes each chat call's line to the request log when it ends."""

    def __init__(
        self, service: RecordingService, loop: asyncio.AbstractEventLoop, log: RequestLog
    ) -> None:
        super().__init__(service, loop)
        self._recorder = service
        self._log = log
        self._call: Call | None = None

    def on_message_begin(self) -> None:
        self._reading = _RecordedRequest(self._loop.time())

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 12 and name.lower() == b"x-request-id":
            cast(_RecordedRequest, self._reading).request_id = csv_field(value)
        else:
            Connection.on_header(self, name, value)

    def _begin(self, request: ParsedRequest) -> None:
        if request.path == CHAT_PATH:
            recorded = cast(_RecordedRequest, request)
            self._call = Call(recorded.request_id, recorded.received)
        self._recorder.asked = None
        super()._begin(request)

    def _start(self, action: Action) -> None:
        call = self._call
        if call is not None:
            asked = self._recorder.asked
            call.stream = asked is not None and asked.stream
            call.fault = fault_of(action)
        super()._start(action)

    def _send_reply(self, reply: Reply) -> None:
        call = self._call
        if call is not None and self._transport is not None:
            call.status = b"%d" % reply.status
            if reply.counted and reply.status == 200 and not call.fault:
                call.tokens = self._recorder.length
        super()._send_reply(reply)

    def _send_first_token(self) -> None:
        call, stream = self._call, self._stream
        if call is not None and stream is not None and self._transport is not None:
            call.first = time.time()
            if stream.cut and stream.malformed:  # token 0 goes out with the status line
                call.status = b"200"
        self._send_token()

    def _finish(self, completed: bool) -> None:
        call = self._call
        if call is not None:
            self._call = None
            if self._stream is not None:
                call.tokens = self._token
            self._log.write(call.line(time.time()))
        super()._finish(completed)


def serve_recording(
    config: MockConfig, stats: SharedStats, worker: int, faults: FaultModel, sock: socket.socket
) -> None:
    """Serve on `sock` like server.serve, writing this worker's calls to the request log."""
    with RequestLog(config.request_log) as log:
        service = RecordingService(config, stats, worker, faults)
        serve(service, sock, lambda _service, loop: RecordingConnection(service, loop, log))
