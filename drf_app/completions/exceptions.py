"""Errors as the contract words them: always JSON with a "detail" key, never HTML.

`exception_handler` is DRF's EXCEPTION_HANDLER (errors raised inside a view); the
views below it are Django's handler400/403/404/500 (errors outside any view).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from drf_app.completions.llm import UpstreamError

Loc = tuple[str | int, ...]


def _field_errors(detail: Any, loc: Loc) -> Iterator[dict[str, Any]]:
    """Flatten DRF's nested error detail into FastAPI-style {loc, msg, type} items."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = loc if key == api_settings.NON_FIELD_ERRORS_KEY else (*loc, key)
            yield from _field_errors(value, inner)
    elif isinstance(detail, list):
        for item in detail:
            yield from _field_errors(item, loc)
    else:
        yield {"loc": list(loc), "msg": str(detail), "type": getattr(detail, "code", "invalid")}


def _unprocessable(detail: Any) -> Response:
    return Response(
        {"detail": list(_field_errors(detail, ("body",)))},
        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map an exception raised in a view to the contract's status and JSON body."""
    if isinstance(exc, UpstreamError):
        headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
        return Response({"detail": exc.detail}, status=exc.status_code, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "request body is larger than 65536 bytes"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    # Every body the service cannot read is a 422, as in the other services:
    # invalid fields, malformed JSON, and a Content-Type that is not JSON.
    if isinstance(exc, exceptions.ValidationError):
        return _unprocessable(exc.detail)
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        return _unprocessable(exc.detail)
    # The rest (404, 405, ...) DRF already renders as {"detail": str}; None re-raises.
    return drf_exception_handler(exc, context)


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer a request Django rejected before routing (e.g. a disallowed Host)."""
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer a request Django refused outside any view."""
    return JsonResponse({"detail": "Permission denied."}, status=403)


def not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer a path that no route matches."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Answer an uncaught exception without leaking a stack trace."""
    return JsonResponse({"detail": "Internal server error."}, status=500)
