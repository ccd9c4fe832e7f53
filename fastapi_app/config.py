"""Settings read once at start-up from the environment (LLM_*, FASTAPI_VARIANT, THREADPOOL_SIZE,
REQUEST_LOG, METRICS)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

Variant = Literal["async", "sync", "blocking"]
ClientName = Literal["aiohttp", "openai", "openai-aiohttp", "httpx"]

ASYNC_CLIENTS: tuple[ClientName, ...] = ("aiohttp", "openai", "openai-aiohttp", "httpx")
SYNC_CLIENTS: tuple[ClientName, ...] = ("openai", "httpx")


class Settings(BaseSettings):
    """Typed configuration of one worker process."""

    model_config = SettingsConfigDict(
        env_prefix="LLM_", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )

    base_url: str = "http://127.0.0.1:8900/v1"
    api_key: SecretStr = SecretStr("sk-mock-local")
    model: str = "mock-gpt"
    timeout_s: PositiveFloat = 30.0
    # Upstream connections per worker process: no hidden cap below 10,000 in flight.
    max_connections: PositiveInt = 10000
    # None picks the variant's default: aiohttp for async, the openai SDK for sync/blocking.
    client: ClientName | None = None

    # Not LLM_*: these choose how the service itself runs, not how it calls upstream.
    variant: Variant = Field(default="async", validation_alias="FASTAPI_VARIANT")
    threadpool_size: PositiveInt | None = Field(default=None, validation_alias="THREADPOOL_SIZE")
    # One access line per request (docs/contract.md); off by default, because writing it
    # costs CPU that a measurement would charge to the framework.
    request_log: bool = Field(default=False, validation_alias="REQUEST_LOG")
    # METRICS=1: Prometheus series and GET /metrics (docs/metrics.md); off by default.
    metrics: bool = Field(default=False, validation_alias="METRICS")

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics_flag(cls, value: object) -> object:
        # The same rule in every service: 1 on; unset, empty or 0 off; anything else is
        # refused rather than read as off (pydantic alone would also take "yes", "on").
        if isinstance(value, str):
            if value not in ("", "0", "1"):
                raise ValueError(f"METRICS={value!r}: use 1 (on) or 0 (off)")
            return value == "1"
        return value

    @model_validator(mode="after")
    def _client_fits_variant(self) -> Settings:
        allowed = ASYNC_CLIENTS if self.variant == "async" else SYNC_CLIENTS
        if self.client is not None and self.client not in allowed:
            raise ValueError(
                f"LLM_CLIENT={self.client} does not work with the {self.variant} variant; "
                f"use one of {', '.join(allowed)}"
            )
        return self

    @property
    def upstream_client(self) -> ClientName:
        """Return the client implementation in force for this variant."""
        if self.client is not None:
            return self.client
        return "aiohttp" if self.variant == "async" else "openai"

    @property
    def completions_url(self) -> str:
        """Return the upstream chat completions endpoint."""
        return self.base_url.rstrip("/") + "/chat/completions"
