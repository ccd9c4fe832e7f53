"""The benchmark's AI service in Flask, with flask-openapi3 for validation and docs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_openapi3 import Info, OpenAPI

from flask_app.config import DefaultConfig, llm_settings, load_environment
from flask_app.docs import register_docs
from flask_app.errors import register_error_handlers, validation_error_response
from flask_app.limits import register_body_limit
from flask_app.llm import LazyClient
from flask_app.request_id import register_request_ids
from flask_app.schemas import ValidationErrorItem
from flask_app.views import api


def create_app(test_config: Mapping[str, Any] | None = None) -> OpenAPI:
    """Create the Flask application; `test_config` overrides the config (tests)."""
    app = OpenAPI(
        __name__,
        info=Info(title="flask_app", version="0.1.0", description="AI service bench, Flask"),
        # No static files of its own; Swagger UI's assets come from its plugin (docs.py).
        static_folder=None,
        doc_ui=False,
        # Left at None, flask-openapi3 4.3 writes `"securitySchemes": null`, which the
        # OpenAPI schema rejects; an empty mapping is valid.
        security_schemes={},
        validation_error_callback=validation_error_response,
        validation_error_model=ValidationErrorItem,
    )
    app.config.from_object(DefaultConfig)
    load_environment(app.config)
    if test_config is not None:
        app.config.from_mapping(test_config)
    # First of the hooks: every answer, a refused body's 413 included, carries the ID.
    register_request_ids(app)
    wrap = None
    if app.config["METRICS"]:
        # Imported only here: with METRICS off, prometheus_client is never loaded. First
        # of the extensions, so that its before_request hook runs before the others
        # (after the request ID's only).
        from flask_app.metrics.extension import Metrics

        wrap = Metrics(app).instrument
    app.extensions["llm"] = LazyClient(llm_settings(app.config), wrap)
    register_error_handlers(app)
    register_body_limit(app)
    app.register_api(api)
    register_docs(app)
    return app
