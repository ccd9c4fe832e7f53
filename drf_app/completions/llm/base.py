"""What every upstream client shares: results, errors, the request body, answer parsing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import orjson

from drf_app.request_id import HEADER

CHAT_PATH: Final = "/chat/completions"


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole upstream answer."""

    text: str
    tokens_used: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """One upstream stream chunk: a content delta, the final usage, or both."""

    delta: str = ""
    tokens_used: int | None = None


class UpstreamError(Exception):
    """An upstream failure, already translated to the status the service answers with."""

    def __init__(self, status_code: int, detail: str, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.retry_after = retry_after

    @classmethod
    def from_status(cls, status: int, retry_after: str | None = None) -> UpstreamError:
        """Map an unexpected upstream status: 429 -> 503 (Retry-After kept), else 502."""
        if status == 429:
            return cls(503, "upstream rate limit reached, retry later", retry_after)
        return cls(502, f"upstream answered with status {status}")

    @classmethod
    def timeout(cls) -> UpstreamError:
        """Return the error for an upstream that did not answer in time."""
        return cls(504, "upstream timed out")

    @classmethod
    def unreachable(cls, exc: BaseException) -> UpstreamError:
        """Return the error for a refused, reset or dropped upstream connection."""
        return cls(502, f"upstream connection failed ({type(exc).__name__})")

    @classmethod
    def malformed(cls) -> UpstreamError:
        """Return the error for an upstream answer that is not what the API promises."""
        return cls(502, "upstream sent a malformed answer")


class Deadline:
    """The whole-request time limit (LLM_TIMEOUT_S) of one upstream call."""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def check(self) -> None:
        """Raise the 504 error once the limit has passed."""
        if time.monotonic() > self._at:
            raise UpstreamError.timeout()


def request_id_header(request_id: str | None) -> dict[str, str] | None:
    """Return the per-call header that passes the request's ID upstream."""
    return None if request_id is None else {HEADER: request_id}


def chat_body(model: str, prompt: str, max_tokens: int, *, stream: bool) -> dict[str, Any]:
    """Return the chat.completions request body for one user prompt."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": stream,
    }
    if stream:
        # The final chunk then carries usage, the source of tokens_used.
        body["stream_options"] = {"include_usage": True}
    return body


def parse_completion(raw: bytes) -> Completion:
    """Read text and total tokens out of a chat.completion body; 502 if malformed."""
    try:
        answer = orjson.loads(raw)
        content = answer["choices"][0]["message"]["content"]
        tokens_used = answer["usage"]["total_tokens"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise UpstreamError.malformed() from None
    if not isinstance(tokens_used, int):
        raise UpstreamError.malformed()
    return Completion(content if isinstance(content, str) else "", tokens_used)


# The payload of the `data:` line that ends an OpenAI event stream.
STREAM_END: Final = b"[DONE]"


def sse_data(line: bytes) -> bytes | None:
    """Return the payload of an event-stream `data:` line, None for any other line."""
    if not line.startswith(b"data:"):
        return None
    return line[5:].strip()


def parse_chunk(data: bytes) -> Chunk | None:
    """Parse one chat.completion.chunk payload; None for chunks with nothing to relay.

    The role-only first chunk and the finish chunk carry no content and no usage.
    """
    try:
        event = orjson.loads(data)
        choices = event.get("choices")
        delta = choices[0]["delta"].get("content") if choices else None
        usage = event.get("usage")
        tokens_used = usage["total_tokens"] if usage else None
    except (orjson.JSONDecodeError, AttributeError, KeyError, IndexError, TypeError):
        raise UpstreamError.malformed() from None
    if tokens_used is not None and not isinstance(tokens_used, int):
        raise UpstreamError.malformed()
    if not delta and tokens_used is None:
        return None
    return Chunk(delta if isinstance(delta, str) else "", tokens_used)
