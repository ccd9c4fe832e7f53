"""Deterministic output text: token k is always the same word."""

from __future__ import annotations

import orjson

_WORDS = (
    "The quick brown fox jumps over the lazy dog while a benchmark counts "
    "every token that the mock language model emits on its fixed schedule"
).split(" ")

# Token 0 has no leading space, every later token has one, so that the joined
# content reads as text and each token is one visible chunk.
_TOKENS = [(" " if k else "") + _WORDS[k % len(_WORDS)] for k in range(len(_WORDS) + 1)]
_CYCLE = len(_WORDS)

# JSON-encoded forms, computed once: the hot path only concatenates bytes.
_ENCODED = [orjson.dumps(token) for token in _TOKENS]


def token(k: int) -> str:
    """Return the text of token k (0-based)."""
    return _TOKENS[k] if k == 0 else _TOKENS[1 + (k - 1) % _CYCLE]


def token_json(k: int) -> bytes:
    """Return token k encoded as a JSON string literal."""
    return _ENCODED[k] if k == 0 else _ENCODED[1 + (k - 1) % _CYCLE]


def text(n: int) -> str:
    """Return the content of an answer of n tokens."""
    return "".join(token(k) for k in range(n))


def prompt_tokens(messages: list[dict[str, object]]) -> int:
    """Count prompt tokens the cheap way real tokenizers approximate: 4 characters each."""
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    chars += len(part["text"])
    return max(1, (chars + 3) // 4)
