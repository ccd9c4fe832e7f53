"""What the mock answers and when: routing, auth, faults and the latency model.

This module decides; mock_llm.server executes the decision on the event loop. Every
answer is timed on an absolute schedule from t0, the moment the request began to
arrive: token k of a stream is due at t0 + ttft + k * itl, so one late wake-up never
shifts the tokens after it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import orjson

from mock_llm import tokens, wire
from mock_llm.config import MockConfig
from mock_llm.faults import FaultError, FaultModel, parse_document
from mock_llm.request import BadRequest, ChatRequest, parse_chat
from mock_llm.stats import SharedStats


@dataclass(frozen=True, slots=True)
class Reply:
    """Send one whole response now, or at `at` (event-loop time) when it is set."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = wire.JSON_HEADERS
    at: float | None = None
    counted: bool = False  # a chat request that entered service (stats begin/end)


@dataclass(frozen=True, slots=True)
class Drop:
    """Send headers promising a body at `at`, then close the connection without it."""

    at: float


@dataclass(frozen=True, slots=True)
class Stall:
    """Never answer; the request ends only when the client goes away."""


@dataclass(frozen=True, slots=True)
class Stream:
    """A chat.completion.chunk stream of n tokens on the absolute schedule."""

    writer: wire.ChunkWriter
    start: float  # t0 + ttft: role chunk and token 0
    itl: float
    n: int
    tail: bytes  # finish chunk, usage chunk when asked, [DONE]
    cut: int  # drop the connection before token `cut` (-1: never)
    malformed: int  # send a broken chunk instead of token `malformed` (-1: never)
    drop_after: int = -1  # the client says it drops the stream after this many tokens
    first_delay: float = 0.0  # slow-start: token 0 this much later, the rest on schedule


Action = Reply | Drop | Stall | Stream


# path -> {method: which answer}
_ROUTES: dict[bytes, dict[bytes, str]] = {
    b"/v1/chat/completions": {b"POST": "chat"},
    b"/health": {b"GET": "health"},
    b"/v1/models": {b"GET": "models"},
    b"/stats": {b"GET": "stats"},
    b"/stats/reset": {b"POST": "reset"},
    b"/faults": {b"GET": "faults", b"POST": "set-faults"},
}


class MockService:
    """Turns one parsed HTTP request into an Action."""

    def __init__(
        self,
        config: MockConfig,
        stats: SharedStats,
        worker: int = 0,
        faults: FaultModel | None = None,
    ) -> None:
        self.config = config
        self.stats = stats
        self.faults = faults or FaultModel(config.error_rate, config.error_codes)
        self._auth = f"Bearer {config.api_key}".encode() if config.api_key else None
        self._ttft = config.ttft_ms / 1000.0
        self._itl = config.itl_ms / 1000.0
        self._random = random.Random(config.seed * 1000 + worker)
        self._counter = 0
        self._created = int(time.time())
        self._prefix = f"chatcmpl-mock{worker}x"
        self._models = orjson.dumps(
            {
                "object": "list",
                "data": [
                    {
                        "id": config.model,
                        "object": "model",
                        "created": self._created,
                        "owned_by": "mock-llm",
                    }
                ],
            }
        )

    def handle(
        self,
        method: bytes,
        path: bytes,
        auth: bytes | None,
        fault: bytes | None,
        body: bytes | None,
        t0: float,
    ) -> Action:
        """Decide the answer to one request; `body` is None when it was too large."""
        route = _ROUTES.get(path)
        if route is None:
            shown = path.decode("latin-1")
            return Reply(404, wire.error_body(404, f"no route {shown}"))
        name = route.get(method)
        if name is None:
            shown_method, shown = method.decode("latin-1"), path.decode("latin-1")
            return Reply(405, wire.error_body(405, f"{shown_method} is not allowed on {shown}"))
        if name == "chat":
            return self._chat(auth, fault, body, t0)
        if name == "models":
            return Reply(200, self._models) if self._authorized(auth) else self._unauthorized()
        return self._control(name, body)

    def _control(self, name: str, body: bytes | None) -> Reply:
        """The harness's endpoints: health, counters, the fault model."""
        if name == "health":
            return Reply(200, b'{"status":"ok"}')
        if name == "set-faults":
            return self._set_faults(body)
        if name == "faults":
            return Reply(200, orjson.dumps(self.faults.document()))
        if name == "reset":
            self.stats.reset()
        return Reply(200, orjson.dumps(self.stats_document()))

    def stats_document(self) -> dict[str, object]:
        """Return /stats: the shared counters and the settings in force."""
        return {
            **self.stats.snapshot(),
            "config": self.config.public(),
            "faults": self.faults.document(),
        }

    def _set_faults(self, body: bytes | None) -> Reply:
        """Put the fault model of a `POST /faults` document in force for every worker."""
        try:
            self.faults.set(*parse_document(orjson.loads(body or b"null")))
        except orjson.JSONDecodeError:
            return Reply(400, wire.error_body(400, "the body is not valid JSON"))
        except FaultError as exc:
            return Reply(400, wire.error_body(400, str(exc)))
        return Reply(200, orjson.dumps(self.faults.document()))

    def _authorized(self, auth: bytes | None) -> bool:
        return self._auth is None or auth == self._auth

    def _unauthorized(self) -> Reply:
        self.stats.add("unauthorized")
        return Reply(401, wire.error_body(401, "Incorrect API key provided."))

    def _bad_request(self, status: int, message: str, param: str | None = None) -> Reply:
        self.stats.add("bad_requests")
        return Reply(status, wire.error_body(status, message, param))

    def _chat(
        self, auth: bytes | None, fault: bytes | None, body: bytes | None, t0: float
    ) -> Action:
        if not self._authorized(auth):
            return self._unauthorized()
        if body is None:
            return self._bad_request(413, "the request body is too large")
        try:
            request = parse_chat(body, fault)
        except BadRequest as exc:
            return self._bad_request(400, exc.message, exc.param)
        self.stats.begin(request.stream)
        return self._answer(request, t0)

    def _fault(self, request: ChatRequest) -> str | None:
        if request.forced_fault is not None:
            return request.forced_fault
        return self.faults.draw(self._random)

    def _draw(self, mean: float) -> float:
        """Return `mean` scaled by a clamped normal factor (jitter), never negative."""
        jitter = self.config.jitter
        if not jitter:
            return mean
        factor = self._random.gauss(1.0, jitter)
        return mean * min(max(factor, 1.0 - 3 * jitter, 0.0), 1.0 + 3 * jitter)

    def _length(self, request: ChatRequest) -> tuple[int, str]:
        """This answer's tokens and finish reason: the request's max tokens, or the cap.

        The cap is the configured one, or drawn around it (length spread). A method of
        its own, so that the request log (mock_llm.recording) learns the length.
        """
        cap, spread = self.config.output_tokens, self.config.length_spread
        if spread:
            cap = max(1, round(cap * self._random.uniform(1.0 - spread, 1.0 + spread)))
        if request.max_tokens and request.max_tokens <= cap:
            return request.max_tokens, "length"
        return cap, "stop"

    def _answer(self, request: ChatRequest, t0: float) -> Action:
        fault = self._fault(request)
        if fault is not None:
            self.stats.error(fault)
            if fault.isdigit():
                return _status_fault(int(fault))
            if fault == "stall":
                return Stall()
        n, finish = self._length(request)
        self._counter += 1
        ident = f"{self._prefix}{self._counter}"
        prompt = tokens.prompt_tokens(request.messages)
        ttft, itl = self._draw(self._ttft), self._draw(self._itl)
        if request.stream:
            writer = wire.ChunkWriter(
                ident, self._created, self.config.model, request.include_usage
            )
            tail = writer.finish(finish)
            if request.include_usage:
                tail += writer.usage(prompt, n)
            return Stream(
                writer=writer,
                start=t0 + ttft,
                itl=itl,
                n=n,
                tail=tail + wire.DONE,
                cut=n // 2 if fault == "disconnect" else -1,
                malformed=n // 2 if fault == "malformed" else -1,
                drop_after=request.drop_after or -1,
                first_delay=(n - 1) * itl / 2 if fault == "slow-start" else 0.0,
            )
        at = t0 + ttft + (n - 1) * itl
        if fault == "disconnect":
            return Drop(at)
        if fault == "malformed":
            return Reply(
                200, b'{"id": "' + ident.encode() + b'", "choices": [', at=at, counted=True
            )
        body = wire.completion_body(ident, self._created, self.config.model, n, prompt, finish)
        return Reply(200, body, at=at, counted=True)


def _status_fault(status: int) -> Reply:
    headers = wire.JSON_HEADERS
    if status == 429:
        headers = (*headers, (b"retry-after", b"1"))
    message = "Rate limit reached (injected fault)" if status == 429 else "Injected fault"
    return Reply(status, wire.error_body(status, message), headers, counted=True)
