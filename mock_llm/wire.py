"""Bytes on the wire: OpenAI-shaped answers, chunks and errors."""

from __future__ import annotations

import orjson

from mock_llm import tokens

JSON_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),)

_REASONS = {
    200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 403: b"Forbidden",
    404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
    409: b"Conflict", 413: b"Content Too Large", 422: b"Unprocessable Content",
    429: b"Too Many Requests", 500: b"Internal Server Error", 502: b"Bad Gateway",
    503: b"Service Unavailable", 504: b"Gateway Timeout",
}  # fmt: skip


def response(
    status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...], keep_alive: bool
) -> bytes:
    """Return a whole HTTP/1.1 response, ready for a single write."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Error"))]
    lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
    lines.append(b"content-length: %d\r\n" % len(body))
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)


def stream_head(keep_alive: bool) -> bytes:
    """Return the head of a chunked text/event-stream response."""
    close = b"" if keep_alive else b"connection: close\r\n"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n" + close + b"\r\n"
    )


def chunk(data: bytes) -> bytes:
    """Frame data as one HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    """Return an error in OpenAI's shape {"error": {message, type, param, code}}."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps(
        {
            "error": {
                "message": message,
                "type": kind,
                "param": param,
                "code": _ERROR_CODES.get(status),
            }
        }
    )


def usage(prompt: int, completion: int) -> dict[str, int]:
    """Return an OpenAI usage object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_body(
    ident: str, created: int, model: str, n: int, prompt: int, finish: str
) -> bytes:
    """Return a whole non-streaming chat.completion answer of n tokens."""
    return orjson.dumps(
        {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": tokens.text(n), "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": usage(prompt, n),
            "system_fingerprint": "mock",
        }
    )


class ChunkWriter:
    """Pre-encodes the constant parts of one stream's chat.completion.chunk events."""

    def __init__(self, ident: str, created: int, model: str, include_usage: bool) -> None:
        head = orjson.dumps(
            {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
        )[:-1]
        self._head = b"data: " + head + b',"system_fingerprint":"mock","choices":'
        # With include_usage every chunk carries "usage": null, as OpenAI sends it.
        self._tail = b',"usage":null}\n\n' if include_usage else b"}\n\n"

    def _event(self, choices: bytes) -> bytes:
        return self._head + choices + self._tail

    def role(self) -> bytes:
        """Return the first chunk: the assistant role with empty content."""
        return self._event(
            b'[{"index":0,"delta":{"role":"assistant","content":""},'
            b'"logprobs":null,"finish_reason":null}]'
        )

    def token(self, k: int) -> bytes:
        """Return the chunk carrying token k."""
        return self._event(
            b'[{"index":0,"delta":{"content":'
            + tokens.token_json(k)
            + b'},"logprobs":null,"finish_reason":null}]'
        )

    def finish(self, reason: str) -> bytes:
        """Return the chunk that closes the choice."""
        return self._event(
            b'[{"index":0,"delta":{},"logprobs":null,"finish_reason":"' + reason.encode() + b'"}]'
        )

    def usage(self, prompt: int, completion: int) -> bytes:
        """Return the final usage chunk (include_usage): no choices, usage set."""
        return (
            self._head + b"[]" + b',"usage":' + orjson.dumps(usage(prompt, completion)) + b"}\n\n"
        )


DONE = b"data: [DONE]\n\n"
