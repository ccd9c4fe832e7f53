"""OpenAPI descriptions of the endpoints, shared by the sync and the async views."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
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
        (200, "text/event-stream"): OpenApiResponse(
            OpenApiTypes.STR, description=_STREAM_DESCRIPTION
        ),
        **_ERRORS,
    },
)
