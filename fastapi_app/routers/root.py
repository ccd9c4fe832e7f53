"""Service endpoints that never call the upstream: /, /health, /hello."""

from __future__ import annotations

from fastapi import APIRouter

from fastapi_app.schemas import HealthResponse, HelloResponse, RootResponse

# Async in every variant: these probe the framework, not the upstream client.
router = APIRouter(tags=["service"])


@router.get("/")
async def root() -> RootResponse:
    """Identify the service."""
    return RootResponse()


@router.get("/health")
async def health() -> HealthResponse:
    """Report liveness without calling the upstream."""
    return HealthResponse()


@router.get("/hello")
async def hello() -> HelloResponse:
    """Answer a fixed greeting: the framework-overhead probe."""
    return HelloResponse()
