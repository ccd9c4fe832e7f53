"""OpenAI chat completions on the wire, for the clients that speak raw HTTP."""

from __future__ import annotations

from typing import Any

import orjson

from fastapi_app.config import Settings
from fastapi_app.services.llm import UpstreamError

# Anything a broken answer can raise while it is picked apart.
_MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)


def request_headers(settings: Settings) -> dict[str, str]:
    """Return the headers every upstream call carries."""
    return {
        "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
        "Content-Type": "application/json",
    }


def request_body(settings: Settings, prompt: str, max_tokens: int, stream: bool) -> bytes:
    """Return the JSON body of one chat completion call."""
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def decode_answer(raw: bytes) -> tuple[str, int]:
    """Return (text, tokens_used) from a chat.completion answer."""
    try:
        answer = orjson.loads(raw)
        text = _string(answer["choices"][0]["message"]["content"] or "")
        tokens = _integer(answer["usage"]["total_tokens"])
    except _MALFORMED as exc:
        raise UpstreamError("malformed upstream answer") from exc
    return text, tokens


class StreamDecoder:
    """Turn the lines of one upstream event stream into content deltas; keep the usage."""

    __slots__ = ("tokens_used",)

    def __init__(self) -> None:
        self.tokens_used: int | None = None

    def feed(self, line: bytes) -> str | None:
        """Return the content delta that `line` carries, or None (role, finish, usage, [DONE])."""
        if not line.startswith(b"data:"):
            return None
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return None
        try:
            chunk = orjson.loads(payload)
            choices = chunk["choices"]
            usage = chunk.get("usage")
            if usage:
                self.tokens_used = _integer(usage["total_tokens"])
            if choices:
                content = choices[0]["delta"].get("content")
                if content:
                    return _string(content)
        except _MALFORMED as exc:
            raise UpstreamError("malformed upstream stream chunk") from exc
        return None

    def finish(self) -> int:
        """Return tokens_used once the stream has ended."""
        if self.tokens_used is None:
            raise UpstreamError("upstream stream ended without usage")
        return self.tokens_used


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value
