"""Pure pieces of the Flask service: its config, SSE parsing, the per-process client holder."""

from __future__ import annotations

import json
import threading

import pytest
from flask import Flask
from pydantic import ValidationError

from flask_app import create_app
from flask_app.config import DefaultConfig, LLMSettings
from flask_app.llm import (
    Delta,
    LazyClient,
    UpstreamError,
    Usage,
    parse_completion,
    parse_sse,
    split_lines,
)

FAR = float("inf")


LLM_KEYS = [key for key in vars(DefaultConfig) if key.startswith("LLM_")]


def settings_of(app: Flask) -> LLMSettings:
    lazy: LazyClient = app.extensions["llm"]
    return lazy.settings


def test_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in LLM_KEYS:
        monkeypatch.delenv(key, raising=False)
    app = create_app()
    assert app.config["MAX_CONTENT_LENGTH"] == 65536
    settings = settings_of(app)
    assert settings.base_url == "http://127.0.0.1:8900/v1"
    assert settings.api_key.get_secret_value() == "sk-mock-local"
    assert settings.model == "mock-gpt"
    assert settings.timeout_s == 30
    # No hidden limit below 10,000 in flight: the upstream pool holds that many.
    assert settings.max_connections == 10000
    assert settings.client == "urllib3"


def test_config_comes_from_the_environment_and_test_config_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_MODEL", "from-env")
    monkeypatch.setenv("LLM_MAX_CONNECTIONS", "64")
    monkeypatch.setenv("LLM_API_KEY", "sk-hidden")
    app = create_app({"LLM_MODEL": "from-config", "TESTING": True})
    assert app.config["LLM_MODEL"] == "from-config"
    settings = settings_of(app)
    assert (settings.model, settings.max_connections) == ("from-config", 64)
    assert "sk-hidden" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [("LLM_CLIENT", "requests"), ("LLM_MAX_CONNECTIONS", "0"), ("LLM_TIMEOUT_S", "-1")],
)
def test_bad_settings_fail_at_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        create_app()


def test_an_unknown_llm_key_is_refused() -> None:
    with pytest.raises(ValidationError):
        create_app({"LLM_MODLE": "typo"})


def _sse(*chunks: object) -> list[bytes]:
    return [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]


def test_split_lines_joins_lines_cut_across_chunks() -> None:
    assert list(split_lines([b"da", b"ta: 1\n\nda", b"ta: 2\n", b"tail"])) == [
        b"data: 1",
        b"",
        b"data: 2",
        b"tail",
    ]


def test_parse_sse_forwards_content_and_usage_only() -> None:
    chunks = _sse(
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "a"}}]},
        {"choices": [{"delta": {"content": ""}}]},
        {"choices": [{"delta": {"content": "b"}}]},
        {"choices": [], "usage": {"total_tokens": 9}},
    )
    assert list(parse_sse(chunks, FAR)) == [Delta("a"), Delta("b"), Usage(9)]


def test_parse_sse_accepts_crlf_lines() -> None:
    raw = b'data: {"choices": [{"delta": {"content": "a"}}]}\r\n\r\ndata: [DONE]\r\n\r\n'
    assert list(parse_sse([raw], FAR)) == [Delta("a")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: {not json\n\n", b"data: [DONE]\n\n"],
        [b'data: {"choices": [{"delta": {"content": "a"}}]}\n\n'],  # cut before [DONE]
    ],
)
def test_parse_sse_broken_streams_are_502(chunks: list[bytes]) -> None:
    with pytest.raises(UpstreamError) as caught:
        list(parse_sse(chunks, FAR))
    assert caught.value.status == 502


def test_parse_sse_past_the_deadline_is_504() -> None:
    with pytest.raises(UpstreamError) as caught:
        list(parse_sse(_sse({"choices": [{"delta": {"content": "a"}}]}), deadline=0.0))
    assert caught.value.status == 504


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"choices": []}', b'{"choices": [{}]}'])
def test_parse_completion_rejects_malformed_answers(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_completion(raw)
    assert caught.value.status == 502


def test_lazy_client_builds_one_client_for_all_threads() -> None:
    lazy = LazyClient(settings_of(create_app({"LLM_CLIENT": "httpx"})))
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1
    lazy.close()
