"""settings.py: the LLM_* variables read into one typed object, and refused when wrong."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import drf_app

SETTINGS_PY = str(Path(drf_app.__file__).with_name("settings.py"))

VARIABLES = [
    "DRF_VIEWS",
    "LLM_BASE_URL",
    "LLM_API_KEY",
    "LLM_MODEL",
    "LLM_TIMEOUT_S",
    "LLM_MAX_CONNECTIONS",
    "LLM_CLIENT",
]


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """Execute a fresh copy of drf_app/settings.py under exactly `env`."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_PY, run_name="drf_app_settings_copy")


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)
    llm = settings["LLM"]
    assert settings["DRF_VIEWS"] == "sync"
    assert llm.base_url == "http://127.0.0.1:8900/v1"
    assert llm.api_key == "sk-mock-local"
    assert llm.model == "mock-gpt"
    assert llm.timeout_s == 30.0
    assert llm.max_connections == 10000  # no hidden limit below 10,000 in flight
    assert llm.client == "urllib3"
    assert settings["DEBUG"] is False
    assert settings["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 65536
    assert "localhost" in settings["ALLOWED_HOSTS"]
    assert "*" not in settings["ALLOWED_HOSTS"]


def test_async_views_default_to_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, DRF_VIEWS="async")["LLM"].client == "aiohttp"


@pytest.mark.parametrize("client", ["urllib3", "httpx", "openai"])
def test_sync_views_accept_each_sync_client(monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    assert load(monkeypatch, DRF_VIEWS="sync", LLM_CLIENT=client)["LLM"].client == client


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = load(
        monkeypatch,
        DRF_VIEWS="async",
        LLM_BASE_URL="http://upstream:1/v1",
        LLM_API_KEY="sk-secret",
        LLM_MODEL="m",
        LLM_TIMEOUT_S="2.5",
        LLM_MAX_CONNECTIONS="50",
        LLM_CLIENT="openai-aiohttp",
    )["LLM"]
    assert (llm.base_url, llm.model, llm.timeout_s, llm.max_connections, llm.client) == (
        "http://upstream:1/v1",
        "m",
        2.5,
        50,
        "openai-aiohttp",
    )
    assert "sk-secret" not in repr(llm)


@pytest.mark.parametrize(
    "env",
    [
        {"DRF_VIEWS": "threads"},
        {"LLM_CLIENT": "aiohttp"},
        {"DRF_VIEWS": "async", "LLM_CLIENT": "httpx"},
        {"DRF_VIEWS": "async", "LLM_CLIENT": "urllib3"},
        {"LLM_TIMEOUT_S": "soon"},
        {"LLM_TIMEOUT_S": "0"},
        {"LLM_MAX_CONNECTIONS": "0"},
        {"LLM_MAX_CONNECTIONS": "many"},
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(ImproperlyConfigured):
        load(monkeypatch, **env)
