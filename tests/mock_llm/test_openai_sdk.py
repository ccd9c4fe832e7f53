"""The official openai SDK, sync and async, against a running mock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest

from mock_llm import tokens

pytestmark = pytest.mark.process  # a live mock

KEY = "sk-mock-local"
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say something."}
]


@pytest.fixture
def client(fast_mock: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fast_mock, api_key=KEY, max_retries=0) as client:
        yield client


def test_sync_non_streaming(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=7)
    assert answer.choices[0].message.content == tokens.text(7)
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 7
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 7


def test_output_cap_ends_with_stop(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=500)
    assert answer.usage is not None and answer.usage.completion_tokens == 20
    assert answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("include_usage", [True, False])
def test_sync_streaming(client: openai.OpenAI, include_usage: bool) -> None:
    stream = client.chat.completions.create(
        model="mock-gpt",
        messages=MESSAGES,
        max_tokens=9,
        stream=True,
        stream_options={"include_usage": True} if include_usage else openai.omit,
    )
    chunks = list(stream)
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert deltas == [tokens.token(k) for k in range(9)]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "length"
    assert chunks[0].choices[0].delta.role == "assistant"
    usage = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert len(usage) == 1 and usage[0].completion_tokens == 9
        assert chunks[-1].choices == []
    else:
        assert usage == []


def test_async_non_streaming_and_streaming(fast_mock: str) -> None:
    async def run() -> tuple[str | None, list[str]]:
        async with openai.AsyncOpenAI(base_url=fast_mock, api_key=KEY, max_retries=0) as client:
            answer = await client.chat.completions.create(
                model="mock-gpt", messages=MESSAGES, max_tokens=4
            )
            stream = await client.chat.completions.create(
                model="mock-gpt",
                messages=MESSAGES,
                max_tokens=4,
                stream=True,
                stream_options={"include_usage": True},
            )
            deltas = [
                c.choices[0].delta.content
                async for c in stream
                if c.choices and c.choices[0].delta.content
            ]
            return answer.choices[0].message.content, deltas

    content, deltas = asyncio.run(run())
    assert content == tokens.text(4)
    assert "".join(deltas) == tokens.text(4)
    assert len(deltas) == 4


def test_async_aiohttp_transport(fast_mock: str) -> None:
    async def run() -> str | None:
        async with openai.AsyncOpenAI(
            base_url=fast_mock,
            api_key=KEY,
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(),
        ) as client:
            answer = await client.chat.completions.create(
                model="mock-gpt", messages=MESSAGES, max_tokens=3
            )
            return answer.choices[0].message.content

    assert asyncio.run(run()) == tokens.text(3)


def test_models_lists_the_configured_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["mock-gpt"]


def test_wrong_key_is_an_authentication_error(fast_mock: str) -> None:
    with (
        openai.OpenAI(base_url=fast_mock, api_key="sk-wrong", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES)
    assert info.value.status_code == 401
