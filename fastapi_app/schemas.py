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
    """Every non-validation error; also the data of a stream's `error` event."""

    detail: str


class StreamDelta(BaseModel):
    """The data of a stream's unnamed (`message`) event: one upstream content delta."""

    delta: str


class StreamDone(BaseModel):
    """The data of the `done` event that ends a complete stream."""

    tokens_used: int


def _event(name: str, data: type[BaseModel]) -> dict[str, Any]:
    """One kind of event: its name and the JSON that its data line carries."""
    json_data = {"contentMediaType": "application/json", "contentSchema": data.model_json_schema()}
    kind: dict[str, Any] = {"properties": {"event": {"const": name}, "data": json_data}}
    # An event without an `event:` line is a "message" event (the SSE standard).
    return kind if name == "message" else {**kind, "required": ["event"]}


# One server-sent event, as current tools read the schema of text/event-stream: an object
# with the event's fields, the data line a JSON document (OpenAPI 3.2 calls it itemSchema
# and keeps `schema` for the whole stream; before 3.2 `schema` describes each event).
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
