"""Configuration of the Flask service, all of it in Flask's `app.config`.

`create_app` loads `DefaultConfig`, then each LLM_* variable that the environment sets,
then the mapping it was given (tests). `LLMSettings` is the typed, checked view of the
LLM_* keys that the upstream client reads; a bad value stops the worker at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from flask import Config
from pydantic import BaseModel, ConfigDict, Field, SecretStr

ClientName = Literal["urllib3", "httpx", "openai"]


class DefaultConfig:
    """Flask's config defaults; each LLM_* key is read from the variable of the same name."""

    # The contract's request-size limit; Flask enforces it (413).
    MAX_CONTENT_LENGTH = 65536

    LLM_BASE_URL = "http://127.0.0.1:8900/v1"
    LLM_API_KEY = "sk-mock-local"
    LLM_MODEL = "mock-gpt"
    # Upstream connect and per-read timeout; a stream also gets it as a whole-request deadline.
    LLM_TIMEOUT_S = 30.0
    # Upstream connections per worker process: no hidden cap below 10,000 in flight.
    LLM_MAX_CONNECTIONS = 10000
    # The default follows the lead's upstream-client figures (flask_app/README.md).
    LLM_CLIENT = "urllib3"

    # One access line per request (docs/contract.md); off by default, because writing it
    # costs CPU that a measurement would charge to the framework. REQUEST_LOG=1 turns it on.
    REQUEST_LOG = False
    # Prometheus series and GET /metrics (docs/metrics.md); METRICS=1 turns them on.
    METRICS = False


def load_environment(config: Config) -> None:
    """Set each LLM_* key of the config that the environment names to the variable's value,
    REQUEST_LOG and METRICS from the variables of those names."""
    config.from_mapping(
        {key: os.environ[key] for key in config if key.startswith("LLM_") and key in os.environ}
    )
    if "REQUEST_LOG" in os.environ:
        config["REQUEST_LOG"] = os.environ["REQUEST_LOG"] == "1"
    config["METRICS"] = metrics_enabled(os.environ)


def metrics_enabled(environ: Mapping[str, str]) -> bool:
    """Read METRICS: 1 on; unset, empty or 0 off; any other value is refused (ValueError).

    The same rule in every service, so that a typo never leaves metrics silently off.
    """
    value = environ.get("METRICS", "")
    if value not in ("", "0", "1"):
        raise ValueError(f"METRICS={value!r}: use 1 (on) or 0 (off)")
    return value == "1"


class LLMSettings(BaseModel):
    """The LLM_* keys of the Flask config, typed and checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    api_key: SecretStr  # never shown in a repr or a log line
    model: str
    timeout_s: float = Field(gt=0)
    max_connections: int = Field(ge=1)
    client: ClientName


def llm_settings(config: Config) -> LLMSettings:
    """Check and type the LLM_* keys of the config; a bad value raises ValidationError."""
    return LLMSettings.model_validate(config.get_namespace("LLM_"))
