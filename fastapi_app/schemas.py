"""Request and response bodies (pydantic models)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr


class CompletionRequest(BaseModel):
    """Body of POST /complete and POST /complete/stream; unknown fields are ignored."""

    # Strict types: a number is not a prompt, and true or "5" is not a max_tokens.
    prompt: StrictStr = Field(min_length=1, max_length=4000, examples=["Say hello."])
    max_tokens: StrictInt = Field(default=512, ge=1, le=4096)


class CompletionResponse(BaseModel):
    """The upstream answer and its token count."""

    response: str
    tokens_used: int


class RootResponse(BaseModel):
    """Service identification."""

    status: Literal["ok"] = "ok"
    service: Literal["fastapi"] = "fastapi"


class HealthResponse(BaseModel):
    """Liveness without an upstream call."""

    status: Literal["healthy"] = "healthy"


class HelloResponse(BaseModel):
    """The framework-overhead probe."""

    message: str = "Hello from FastAPI"


class ErrorResponse(BaseModel):
    """Every non-validation error."""

    detail: str
