"""Request and response bodies (pydantic models)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, StrictStr


def _integral_float_to_int(value: Any) -> Any:
    """Turn 1.0 into 1 and leave every other value to the strict int check.

    JSON has one number type: JSON Schema, and so this service's own OpenAPI document
    (`type: integer`), count 1.0 as an integer. 1.5, "12" and true are still refused.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The JSON schema stays the strict int's: type integer (the validator adds nothing to it).
MaxTokens = Annotated[StrictInt, BeforeValidator(_integral_float_to_int)]


class CompletionRequest(BaseModel):
    """Body of POST /complete and POST /complete/stream; unknown fields are ignored."""

    # Strict types: a number is not a prompt, and true or "5" is not a max_tokens
    # (an integral number written as a float, 512.0, is: it reaches the upstream as 512).
    prompt: StrictStr = Field(min_length=1, max_length=4000, examples=["Say hello."])
    max_tokens: MaxTokens = Field(default=512, ge=1, le=4096)


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
