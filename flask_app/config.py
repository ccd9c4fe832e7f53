"""Settings of the Flask service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ClientName = Literal["urllib3", "httpx", "openai"]

# The contract's request-size limit; Flask enforces it through MAX_CONTENT_LENGTH.
MAX_BODY_BYTES = 65536


class Settings(BaseSettings):
    """Upstream settings; each field is read from the variable of the same name in upper case."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    llm_base_url: str = "http://127.0.0.1:8900/v1"
    llm_api_key: SecretStr = SecretStr("sk-mock-local")
    llm_model: str = "mock-gpt"
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_max_connections: int = Field(default=1000, ge=1)
    # The default follows the lead's upstream-client figures (flask_app/README.md).
    llm_client: ClientName = "urllib3"


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read the environment; `LLM_*` keys in `overrides` (a Flask config mapping) win."""
    fields = Settings.model_fields
    given = {key.lower(): value for key, value in (overrides or {}).items()}
    return Settings(**{name: value for name, value in given.items() if name in fields})
