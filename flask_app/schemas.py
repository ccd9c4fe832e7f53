"""Request and response bodies of the API, validated by pydantic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field


def _integral_float_to_int(value: Any) -> Any:
    """Turn 1.0 into 1 and leave every other value to the strict int check.

    JSON has one number type: JSON Schema, and so the service's own OpenAPI document
    (`type: integer`), count 1.0 as an integer, so it is accepted and sent upstream as 1.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict types: the contract rejects `true`, `"12"` or 1.5 as max_tokens instead of
# coercing them; only an integral float (512.0) becomes the int. The validator leaves
# the JSON schema as it was: type integer, minimum 1, maximum 4096.
Prompt = Annotated[str, Field(strict=True, min_length=1, max_length=4000)]
MaxTokens = Annotated[
    int, Field(strict=True, ge=1, le=4096), BeforeValidator(_integral_float_to_int)
]


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
    """Every error but a validation error; also the data of a stream's `error` event."""

    detail: str


class StreamDelta(BaseModel):
    """The data of a stream's unnamed (`message`) event: one upstream content delta."""

    delta: str


class StreamDone(BaseModel):
    """The data of the `done` event that ends a complete stream."""

    tokens_used: int


def _event(name: str, data: type[BaseModel]) -> dict[str, Any]:
    json_data = {"contentMediaType": "application/json", "contentSchema": data.model_json_schema()}
    kind: dict[str, Any] = {"properties": {"event": {"const": name}, "data": json_data}}
    # An event without an `event:` line is a "message" event (the SSE standard).
    return kind if name == "message" else {**kind, "required": ["event"]}


# The schema of one server-sent event, as current tools read a text/event-stream schema
# (OpenAPI 3.2 names it itemSchema; before 3.2, `schema` describes each event): its
# fields, with the data line a JSON document whose shape depends on the event's name.
STREAM_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["message", "done", "error"]},
        "data": {"type": "string"},
    },
    "required": ["data"],
    "oneOf": [
        _event("message", StreamDelta),
        _event("done", StreamDone),
        _event("error", ErrorResponse),
    ],
}


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: list[ValidationErrorItem]
