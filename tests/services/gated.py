"""An upstream whose stream waits, after its first deltas, until the client has one.

A relay that forwards chunks as they arrive passes the first delta on while the upstream
still holds the rest; a relay that buffers cannot, however loaded the machine: the test
releases the upstream once a delta reached it, and the upstream waits up to HOLD_S for
that before it sends the rest anyway. Timing at the client cannot tell the two apart on a
loaded machine: once a 475-ms stream's 21 chunks reached the test within 13 ms, as a
buffered one would arrive.

The events are the mock's own (mock_llm.wire), so every upstream client parses them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mock_llm import tokens, wire

HEAD, TOKENS = 3, 8  # deltas sent before the upstream waits, and in all
PROMPT_TOKENS = 5
HOLD_S = 10.0  # how long the upstream waits for the client's first delta


@dataclass
class Gate:
    """What the test and the upstream share: the release, and whether it came in time."""

    base: str = ""  # the upstream's base URL (…/v1)
    released: threading.Event = field(default_factory=threading.Event)
    waits: list[bool] = field(default_factory=list)  # per stream: released before HOLD_S

    @property
    def deltas(self) -> list[str]:
        return [tokens.token(k) for k in range(TOKENS)]

    @property
    def tokens_used(self) -> int:
        return wire.usage(PROMPT_TOKENS, TOKENS)["total_tokens"]

    def saw(self, received: bytes) -> None:
        """Release the upstream once the client's bytes hold a delta."""
        if b'"delta"' in received:
            self.released.set()


def _handler(gate: Gate) -> type[BaseHTTPRequestHandler]:
    class Gated(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            writer = wire.ChunkWriter("chatcmpl-gated", 0, "mock-gpt", include_usage=True)
            self._send(writer.role(), *(writer.token(k) for k in range(HEAD)))
            gate.waits.append(gate.released.wait(HOLD_S))
            rest = [writer.token(k) for k in range(HEAD, TOKENS)]
            self._send(*rest, writer.finish("stop"), writer.usage(PROMPT_TOKENS, TOKENS))
            self._send(wire.DONE)
            self.wfile.write(wire.LAST_CHUNK)
            self.wfile.flush()

        def _send(self, *events: bytes) -> None:
            for event in events:
                self.wfile.write(wire.chunk(event))
            self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Gated


@contextmanager
def gated_upstream() -> Iterator[Gate]:
    """Serve a gated upstream on loopback for the block; yield its gate."""
    gate = Gate()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gate))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    gate.base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield gate
    finally:
        gate.released.set()  # a stream still waiting ends now
        server.shutdown()
        server.server_close()
