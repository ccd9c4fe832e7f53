"""The factory and the lifespan: one client per process, opened and closed with the app."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from fastapi_app import main
from fastapi_app.config import Settings, Variant
from fastapi_app.routers import docs
from fastapi_app.services.llm import Done, StreamItem


class FakeLLM:
    """Records its life cycle; answers without an upstream."""

    def __init__(self) -> None:
        self.closed = False

    async def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        return prompt.upper(), max_tokens

    async def stream(self, prompt: str, max_tokens: int) -> AsyncGenerator[StreamItem, None]:
        yield prompt
        yield Done(max_tokens)

    async def aclose(self) -> None:
        self.closed = True


class FakeSyncLLM:
    def __init__(self) -> None:
        self.closed = False

    def complete(self, prompt: str, max_tokens: int) -> tuple[str, int]:
        return prompt.upper(), max_tokens

    def stream(self, prompt: str, max_tokens: int) -> Generator[StreamItem, None, None]:
        yield prompt
        yield Done(max_tokens)

    def close(self) -> None:
        self.closed = True


def test_lifespan_opens_one_client_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[FakeLLM] = []

    def open_fake(settings: Settings) -> FakeLLM:
        opened.append(FakeLLM())
        return opened[-1]

    monkeypatch.setattr(main, "open_async_llm", open_fake)
    app = main.create_app(Settings(variant="async", client=None))
    assert opened == []
    with TestClient(app) as client:
        assert len(opened) == 1
        for _ in range(3):
            assert client.post("/complete", json={"prompt": "hi", "max_tokens": 7}).json() == {
                "response": "HI",
                "tokens_used": 7,
            }
        assert len(opened) == 1
        assert not opened[0].closed
    assert opened[0].closed


@pytest.mark.parametrize("variant", ["sync", "blocking"])
def test_sync_variants_set_the_threadpool(
    monkeypatch: pytest.MonkeyPatch, variant: Variant
) -> None:
    fake = FakeSyncLLM()
    monkeypatch.setattr(main, "open_sync_llm", lambda settings: fake)
    app = main.create_app(Settings(variant=variant, client=None, threadpool_size=7))
    with TestClient(app) as client:
        tokens = client.portal.call(  # type: ignore[union-attr]
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
        assert tokens == 7
        response = client.post("/complete/stream", json={"prompt": "hi", "max_tokens": 3})
        assert response.text == 'data: {"delta": "hi"}\n\nevent: done\ndata: {"tokens_used": 3}\n\n'
    assert fake.closed


def test_unexpected_error_is_json_500() -> None:
    app = main.create_app(Settings(variant="async", client=None))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}


def test_docs_fall_back_to_the_cdn_without_local_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "assets_dir", lambda: None)
    with TestClient(main.create_app(Settings(variant="async", client=None))) as client:
        assert client.get("/docs").status_code == 200
        assert "cdn.jsdelivr.net" in client.get("/docs").text
        assert client.get("/static/docs/swagger-ui-dist/swagger-ui.css").status_code == 404


def test_upstream_pool_default_holds_10000_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_MAX_CONNECTIONS", raising=False)
    assert Settings().max_connections == 10000  # no hidden limit below 10,000 in flight


def test_settings_hide_the_key() -> None:
    settings = Settings(api_key="sk-secret-value")  # type: ignore[arg-type]
    assert "sk-secret-value" not in repr(settings)
    assert settings.api_key.get_secret_value() == "sk-secret-value"


@pytest.mark.parametrize(
    ("variant", "client", "expected"),
    [("async", None, "aiohttp"), ("sync", None, "openai"), ("blocking", "httpx", "httpx")],
)
def test_client_default_depends_on_the_variant(
    variant: str, client: str | None, expected: str
) -> None:
    assert Settings(variant=variant, client=client).upstream_client == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("client", ["aiohttp", "openai-aiohttp"])
def test_async_only_clients_are_refused_in_sync_variants(client: str) -> None:
    with pytest.raises(ValueError, match="does not work with the sync variant"):
        Settings(variant="sync", client=client)  # type: ignore[arg-type]
