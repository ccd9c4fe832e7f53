"""Serve the OpenAPI document at /openapi.json and Swagger UI at /docs, offline."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import OpenAPI
from flask_openapi3_swagger.plugins import RegisterPlugin


def register_docs(app: OpenAPI) -> None:
    """Mount the spec and the Swagger UI that flask-openapi3-swagger ships.

    flask-openapi3's own doc UI puts everything under one prefix with a UI index at
    the prefix root, so /openapi.json and /docs at the top level would mean a prefix of
    "" and an index page shadowing GET /. Registering the Swagger plugin directly keeps
    the contract's paths. Its page loads `swagger/...` assets and `openapi.json` by
    relative URL, which resolve to /swagger/... and /openapi.json from /docs.
    """

    spec = _without_needless_422(app.api_doc)

    def openapi_json() -> dict[str, Any]:
        return spec

    app.add_url_rule("/openapi.json", "openapi_json", openapi_json)
    app.register_blueprint(RegisterPlugin.register(doc_url="openapi.json"))
    app.add_url_rule("/docs", endpoint="swagger.swagger")


def _without_needless_422(spec: dict[str, Any]) -> dict[str, Any]:
    """Drop the 422 that flask-openapi3 documents on every operation, even those with no body."""
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if "requestBody" not in operation:
                operation["responses"].pop("422", None)
    return spec
