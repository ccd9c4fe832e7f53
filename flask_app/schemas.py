"""Request and response bodies of the API, validated by pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

# Strict types: the contract rejects `true` or `"12"` as max_tokens instead of coercing them.
Prompt = Annotated[str, Field(strict=True, min_length=1, max_length=4000)]
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=4096)]


class CompleteRequest(BaseModel):
    """Body of both complete endpoints; unknown fields are ignored."""

    prompt: Prompt
    max_tokens: MaxTokens = 512


class CompleteResponse(BaseModel):
    response: str
    tokens_used: int


class RootResponse(BaseModel):
    status: str
    service: str


class HealthResponse(BaseModel):
    status: str


class HelloResponse(BaseModel):
    message: str


class ErrorResponse(BaseModel):
    detail: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: list[ValidationErrorItem]
