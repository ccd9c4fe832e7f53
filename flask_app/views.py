"""The service's endpoints, on one flask-openapi3 blueprint."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g
from flask_openapi3 import APIBlueprint, Tag

from flask_app.llm import LazyClient, LLMClient
from flask_app.schemas import (
    STREAM_EVENT_SCHEMA,
    CompleteRequest,
    CompleteResponse,
    ErrorResponse,
    HealthResponse,
    HelloResponse,
    RootResponse,
    ValidationErrorResponse,
)
from flask_app.sse import encode_events

api = APIBlueprint("api", __name__)

service_tag = Tag(name="service", description="Liveness and framework-overhead probes")
llm_tag = Tag(name="llm", description="Completions relayed from the upstream LLM")

_ERRORS: dict[str | int, Any] = {
    413: ErrorResponse,
    422: ValidationErrorResponse,
    502: ErrorResponse,
    503: ErrorResponse,
    504: ErrorResponse,
}
_EVENT_STREAM: dict[str, Any] = {
    "description": '`data: {"delta": ...}` per upstream chunk, then `event: done` with '
    '`data: {"tokens_used": N}`, or `event: error` with `data: {"detail": ...}`',
    "content": {"text/event-stream": {"schema": STREAM_EVENT_SCHEMA}},
}
# Proxies such as nginx buffer responses unless told not to.
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _llm() -> LLMClient:
    lazy: LazyClient = current_app.extensions["llm"]
    return lazy.get()


@api.get("/", tags=[service_tag], responses={200: RootResponse})
def root() -> dict[str, str]:
    """Name the service."""
    return {"status": "ok", "service": "flask"}


@api.get("/health", tags=[service_tag], responses={200: HealthResponse})
def health() -> dict[str, str]:
    """Report liveness without calling the upstream."""
    return {"status": "healthy"}


@api.get("/hello", tags=[service_tag], responses={200: HelloResponse})
def hello() -> dict[str, str]:
    """Say hello without calling the upstream."""
    return {"message": "Hello from Flask"}


@api.post("/complete", tags=[llm_tag], responses={200: CompleteResponse, **_ERRORS})
def complete(body: CompleteRequest) -> dict[str, Any]:
    """Answer a prompt with one upstream completion."""
    answer = _llm().complete(body.prompt, body.max_tokens, request_id=g.request_id)
    return CompleteResponse(response=answer.text, tokens_used=answer.tokens_used).model_dump()


@api.post("/complete/stream", tags=[llm_tag], responses={200: _EVENT_STREAM, **_ERRORS})
def complete_stream(body: CompleteRequest) -> Response:
    """Relay an upstream streamed completion as server-sent events."""
    # Opened before the response starts, so a refused request still gets its status code.
    events = _llm().stream(body.prompt, body.max_tokens, request_id=g.request_id)
    return Response(encode_events(events), mimetype="text/event-stream", headers=_STREAM_HEADERS)
