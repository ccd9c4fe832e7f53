"""Turn every failure into a JSON body with a `detail` key, never an HTML page."""

from __future__ import annotations

from flask import Flask, Response, json, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from flask_app.llm import UpstreamError


def validation_error_response(exc: ValidationError) -> Response:
    """Answer 422 in the contract's shape; flask-openapi3 calls this for an invalid body."""
    # flask-openapi3 validates `request.get_json(silent=True)` (cached, so asking again is
    # free): malformed JSON or a non-JSON body would read as "not a dictionary".
    detail: list[dict[str, object]]
    if request.get_json(silent=True) is None:
        detail = [{"loc": ["body"], "msg": "Body must be a JSON object", "type": "json_invalid"}]
    else:
        detail = [
            {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False)
        ]
    return Response(json.dumps({"detail": detail}), 422, mimetype="application/json")


def _http_error(exc: HTTPException) -> WerkzeugResponse:
    # The exception's own response keeps headers such as Allow on a 405.
    response = exc.get_response()
    response.set_data(json.dumps({"detail": exc.description}))
    response.mimetype = "application/json"
    return response


def _upstream_error(exc: UpstreamError) -> tuple[dict[str, str], int, dict[str, str]]:
    headers = {"Retry-After": exc.retry_after} if exc.retry_after else {}
    return {"detail": exc.detail}, exc.status, headers


def register_error_handlers(app: Flask) -> None:
    """Register JSON handlers for HTTP errors (404, 405, 413, 500...) and upstream failures."""
    # An unhandled exception reaches the HTTPException handler as InternalServerError,
    # after Flask has logged it.
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(UpstreamError, _upstream_error)
