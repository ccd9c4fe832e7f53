"""Validation of the chat.completions request subset that real clients send."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from mock_llm.config import parse_fault

_FAULT_MARKER = re.compile(r"\[mock-error:([a-z0-9]+)\]", re.IGNORECASE)
# A client that will drop the stream after K content tokens says so in its prompt, so
# that the mock can time how long the service in between takes to close the call.
_DROP_MARKER = re.compile(r"\[mock-drop-after:([0-9]{1,6})\]")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class BadRequest(Exception):
    """A request that gets a 400 in OpenAI's error shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the mock needs from a valid chat.completions request."""

    messages: list[dict[str, object]]
    max_tokens: int | None
    stream: bool
    include_usage: bool
    forced_fault: str | None
    drop_after: int | None = None  # the client drops the stream after this many tokens


def _optional_int(body: dict[str, object], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"'{key}' must be a positive integer", key)
    return value


def _messages(body: dict[str, object]) -> list[dict[str, object]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}] needs a valid 'role'", f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise BadRequest(f"messages[{i}].content must be a string or an array")
    return messages


def _marker_fault(messages: list[dict[str, object]]) -> str | None:
    content = messages[-1].get("content")
    if not isinstance(content, str) or "[mock-error:" not in content.lower():
        return None
    match = _FAULT_MARKER.search(content)
    if match is None:
        return None
    try:
        return parse_fault(match.group(1))
    except ValueError as exc:
        raise BadRequest(str(exc), "messages") from None


def parse_chat(raw: bytes, header_fault: bytes | None) -> ChatRequest:
    """Parse and validate a request body; raise BadRequest naming the field."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise BadRequest("'model' is required and must be a string", "model")
    messages = _messages(body)
    max_tokens = _optional_int(body, "max_completion_tokens") or _optional_int(body, "max_tokens")
    stream, include_usage = _streaming(body)
    fault = _fault(messages, header_fault)
    return ChatRequest(messages, max_tokens, stream, include_usage, fault, _drop_after(messages))


def _drop_after(messages: list[dict[str, object]]) -> int | None:
    content = messages[-1].get("content")
    if not isinstance(content, str) or "[mock-drop-after:" not in content:
        return None
    match = _DROP_MARKER.search(content)
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1))


def _streaming(body: dict[str, object]) -> tuple[bool, bool]:
    """Return (stream, include_usage) of a request body."""
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean", "stream")
    options = body.get("stream_options")
    if options is None:
        return stream, False
    if not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", "stream_options")
    return stream, options.get("include_usage") is True


def _fault(messages: list[dict[str, object]], header_fault: bytes | None) -> str | None:
    """The fault forced by the X-Mock-Error header, else by a marker in the last message."""
    if header_fault is None:
        return _marker_fault(messages)
    try:
        return parse_fault(header_fault.decode("latin-1"))
    except ValueError as exc:
        raise BadRequest(f"X-Mock-Error: {exc}") from None
