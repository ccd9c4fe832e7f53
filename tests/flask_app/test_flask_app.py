"""Flask's own answers in process: non-JSON bodies, the chunked-body limit, uncaught
errors, and what flask-openapi3 documents. No upstream is ever called.

The contract itself is checked on the wire, for every service, by tests/services.
"""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_app import create_app
from tests.flask_app.support import NO_UPSTREAM, AppFactory


@pytest.fixture
def client(make_client: AppFactory) -> FlaskClient:
    return make_client(LLM_BASE_URL=NO_UPSTREAM)


def _assert_422(response: TestResponse, loc: list[str]) -> None:
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    detail = response.get_json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}
        assert isinstance(item["msg"], str) and isinstance(item["type"], str)
    assert loc in [item["loc"] for item in detail]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "application/json"),
        (b'{"prompt": "hi"}', "text/plain"),
        (b"prompt=hi", "application/x-www-form-urlencoded"),
    ],
)
def test_empty_or_non_json_body_is_422_at_body(
    client: FlaskClient, data: bytes, content_type: str
) -> None:
    # flask-openapi3 validates request.get_json(silent=True), None for all of these.
    _assert_422(client.post("/complete", data=data, content_type=content_type), ["body"])


def _post_unsized(client: FlaskClient, body: bytes) -> TestResponse:
    """POST a body without Content-Length, as a server does for a chunked request."""
    return client.post(
        "/complete",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize(("size", "status"), [(65536, 422), (65537, 413), (70000, 413)])
def test_unsized_body_over_64_kib_is_413_not_truncated(
    client: FlaskClient, size: int, status: int
) -> None:
    # Werkzeug reads an unsized body only up to MAX_CONTENT_LENGTH; limits.py looks further.
    body = b'{"prompt": "' + b"x" * (size - 14) + b'"}'
    assert len(body) == size
    response = _post_unsized(client, body)
    assert response.status_code == status
    if status == 422:  # read whole: the over-long prompt, not a cut-off JSON document
        assert response.get_json()["detail"][0]["loc"] == ["body", "prompt"]


def test_unhandled_exception_is_500_json_without_trace() -> None:
    app = create_app({"LLM_BASE_URL": NO_UPSTREAM})  # not TESTING: errors are handled

    def boom() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", view_func=boom)
    app.logger.disabled = True  # the logged traceback is expected; keep the test output clean
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert isinstance(response.get_json()["detail"], str)


def test_openapi_documents_422_only_where_there_is_a_body(client: FlaskClient) -> None:
    # flask-openapi3 documents a 422 on every operation; docs.py drops it where no body is read.
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ["/", "/health", "/hello"]:
        assert "422" not in paths[path]["get"]["responses"]
    for path in ["/complete", "/complete/stream"]:
        assert "422" in paths[path]["post"]["responses"]
