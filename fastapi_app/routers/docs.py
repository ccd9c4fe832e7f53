"""Swagger UI and ReDoc served with local assets (FastAPI's "self-hosting" recipe).

FastAPI loads both from a CDN by default. The assets come from the installed
third-party package drf-spectacular-sidecar, which ships them as plain files; it is
located without being imported (importing it would import Django).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

STATIC_PATH = "/static/docs"
SWAGGER_REDIRECT_PATH = "/docs/oauth2-redirect"


def assets_dir() -> Path | None:
    """Return the folder that holds swagger-ui-dist/ and redoc/, or None if it is missing."""
    spec = find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static/drf_spectacular_sidecar"
    swagger = folder / "swagger-ui-dist"
    needed = (swagger / "swagger-ui-bundle.js", swagger / "swagger-ui.css")
    return folder if all(path.is_file() for path in needed) else None


router = APIRouter(include_in_schema=False)


def _openapi_url(request: Request) -> str:
    root_path: str = request.scope.get("root_path", "")
    openapi_url: str = request.app.openapi_url
    return root_path.rstrip("/") + openapi_url


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Serve Swagger UI with local assets."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=root + SWAGGER_REDIRECT_PATH,
        swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-dist/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui-dist/swagger-ui.css",
        swagger_favicon_url=f"{root}{STATIC_PATH}/swagger-ui-dist/favicon-32x32.png",
    )


@router.get(SWAGGER_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    """Serve the OAuth2 redirect page of Swagger UI."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Serve ReDoc with local assets and no web fonts."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{STATIC_PATH}/redoc/bundles/redoc.standalone.js",
        redoc_favicon_url=f"{root}{STATIC_PATH}/swagger-ui-dist/favicon-32x32.png",
        with_google_fonts=False,
    )
