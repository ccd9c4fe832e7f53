"""OpenAPI descriptions of the endpoints, shared by the sync and the async views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema

from drf_app.completions.serializers import (
    CompletionRequestSerializer,
    CompletionSerializer,
    ErrorSerializer,
    HealthSerializer,
    HelloSerializer,
    ServiceStatusSerializer,
    ValidationErrorSerializer,
)

_ERRORS = {
    413: OpenApiResponse(ErrorSerializer, description="Request body larger than 64 KiB."),
    422: OpenApiResponse(ValidationErrorSerializer, description="Invalid request body."),
    502: OpenApiResponse(ErrorSerializer, description="Upstream failed or answered badly."),
    503: OpenApiResponse(
        ErrorSerializer, description="Upstream rate limit; Retry-After passed on when sent."
    ),
    504: OpenApiResponse(ErrorSerializer, description="Upstream timed out (LLM_TIMEOUT_S)."),
}

_STREAM_DESCRIPTION = (
    'Server-sent events: `data: {"delta": str}` per upstream content chunk, then '
    '`event: done` + `data: {"tokens_used": int}`; a failure after the stream '
    'started ends it with `event: error` + `data: {"detail": str}`.'
)


def _json_object(**properties: str) -> dict[str, Any]:
    """The schema of a JSON object with exactly these required properties and types."""
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in properties.items()},
        "required": list(properties),
    }


def _event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One kind of event: its name and the JSON that its data line carries."""
    json_data = {"contentMediaType": "application/json", "contentSchema": data}
    kind: dict[str, Any] = {"properties": {"event": {"const": name}, "data": json_data}}
    # An event without an `event:` line is a "message" event (the SSE standard).
    return kind if name == "message" else {**kind, "required": ["event"]}


# The schema of one server-sent event, as current tools read a text/event-stream schema
# (OpenAPI 3.2 names it itemSchema; before 3.2, `schema` describes each event): its
# fields, with the data line a JSON document whose shape depends on the event's name.
# A raw schema: serializers describe JSON bodies, not the fields of an event.
STREAM_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["message", "done", "error"]},
        "data": {"type": "string"},
    },
    "required": ["data"],
    "oneOf": [
        _event("message", _json_object(delta="string")),
        _event("done", _json_object(tokens_used="integer")),
        _event("error", _json_object(detail="string")),
    ],
}

index = extend_schema(summary="Service identity", responses={200: ServiceStatusSerializer})
health = extend_schema(summary="Liveness probe", responses={200: HealthSerializer})
hello = extend_schema(summary="Framework-overhead probe", responses={200: HelloSerializer})
complete = extend_schema(
    summary="Complete a prompt",
    request=CompletionRequestSerializer,
    responses={200: CompletionSerializer, **_ERRORS},
)
complete_stream = extend_schema(
    summary="Complete a prompt, streamed",
    request=CompletionRequestSerializer,
    responses={
        (200, "text/event-stream"): OpenApiResponse(STREAM_EVENT, description=_STREAM_DESCRIPTION),
        **_ERRORS,
    },
)
