"""The contract's endpoints as async adrf views, for ASGI servers (uvicorn, gunicorn-uvicorn)."""

from __future__ import annotations

from adrf.views import APIView
from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from drf_app.completions import llm, schema, sse
from drf_app.completions.serializers import (
    CompletionSerializer,
    HealthSerializer,
    HelloSerializer,
    ServiceStatusSerializer,
)
from drf_app.completions.views import validated_body
from drf_app.request_id import request_id_of


class IndexView(APIView):
    """Service identity."""

    @schema.index
    async def get(self, request: Request) -> Response:
        """Report that the service is up and which framework it is."""
        return Response(ServiceStatusSerializer({"status": "ok", "service": "drf"}).data)


class HealthView(APIView):
    """Liveness probe."""

    @schema.health
    async def get(self, request: Request) -> Response:
        """Report health without calling upstream."""
        return Response(HealthSerializer({"status": "healthy"}).data)


class HelloView(APIView):
    """Framework-overhead probe."""

    @schema.hello
    async def get(self, request: Request) -> Response:
        """Say hello without calling upstream."""
        return Response(HelloSerializer({"message": "Hello from DRF"}).data)


class CompleteView(APIView):
    """One prompt, one whole answer."""

    @schema.complete
    async def post(self, request: Request) -> Response:
        """Complete the prompt with one non-streaming upstream call."""
        body = validated_body(request)
        answer = await llm.async_client().complete(
            body["prompt"], body["max_tokens"], request_id=request_id_of(request)
        )
        return Response(CompletionSerializer(answer).data)


class CompleteStreamView(APIView):
    """One prompt, the answer relayed as server-sent events."""

    @schema.complete_stream
    async def post(self, request: Request) -> StreamingHttpResponse:
        """Relay the upstream stream chunk by chunk as server-sent events."""
        body = validated_body(request)
        # Opened before answering, so a failure to start is still a plain 5xx.
        chunks = await llm.async_client().open_stream(
            body["prompt"], body["max_tokens"], request_id=request_id_of(request)
        )
        return sse.event_stream_response(sse.arelay(chunks))
