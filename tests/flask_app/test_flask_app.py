"""The Flask service's HTTP surface in process: probes, validation, errors, docs."""

from __future__ import annotations

import io
import json
import re

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from flask_app import create_app
from tests.flask_app.conftest import AppFactory

# Nothing listens on port 9 (discard): these tests must never reach an upstream.
NO_UPSTREAM = "http://127.0.0.1:9/v1"


@pytest.fixture
def client(make_client: AppFactory) -> FlaskClient:
    return make_client(LLM_BASE_URL=NO_UPSTREAM)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/", {"status": "ok", "service": "flask"}),
        ("/health", {"status": "healthy"}),
        ("/hello", {"message": "Hello from Flask"}),
    ],
)
def test_probes_answer_exact_json(client: FlaskClient, path: str, body: dict[str, str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == body


def _assert_422(response: TestResponse, loc: list[str]) -> None:
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    detail = response.get_json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}
        assert isinstance(item["msg"], str) and isinstance(item["type"], str)
    assert loc in [item["loc"] for item in detail]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "prompt"]),
        ({"prompt": ""}, ["body", "prompt"]),
        ({"prompt": "x" * 4001}, ["body", "prompt"]),
        ({"prompt": 12}, ["body", "prompt"]),
        ({"prompt": None}, ["body", "prompt"]),
        ({"prompt": "hi", "max_tokens": 0}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": 4097}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": True}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": "12"}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": 1.5}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": 4097.0}, ["body", "max_tokens"]),
        ({"prompt": "hi", "max_tokens": 0.0}, ["body", "max_tokens"]),
        (["hi"], ["body"]),
    ],
)
def test_invalid_body_is_422_naming_the_field(
    client: FlaskClient, path: str, body: object, loc: list[str]
) -> None:
    _assert_422(client.post(path, json=body), loc)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b'{"prompt": ', "application/json"),
        (b"", "application/json"),
        (b'{"prompt": "hi"}', "text/plain"),
        (b"prompt=hi", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_or_non_json_body_is_422(
    client: FlaskClient, data: bytes, content_type: str
) -> None:
    _assert_422(client.post("/complete", data=data, content_type=content_type), ["body"])


# Valid JSON whose prompt has no UTF-8 form, so it could not go upstream.
LONE_SURROGATE = b'{"prompt": "a\\ud800b"}'


def nested(depth: int) -> bytes:
    """A valid body whose ignored field `extra` is `depth` nested empty arrays."""
    return b'{"prompt": "x", "max_tokens": 2, "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_prompt_with_a_lone_surrogate_is_422_at_the_prompt(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=LONE_SURROGATE, content_type="application/json")
    _assert_422(response, ["body", "prompt"])
    assert response.get_json()["detail"][0]["type"] == "string_unicode"


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_too_deeply_to_parse_is_422_at_body(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Not TESTING, so that an unhandled error would be logged and answered 500, not raised.
    app = create_app({"LLM_BASE_URL": NO_UPSTREAM})
    # About 10 KB of valid JSON that json.loads gives up on with RecursionError.
    response = app.test_client().post(path, data=nested(5000), content_type="application/json")
    _assert_422(response, ["body"])
    assert response.get_json()["detail"][0]["type"] == "json_invalid"
    assert not [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_100_deep_is_accepted(
    make_client: AppFactory, mock_base: str, path: str
) -> None:
    client = make_client(LLM_BASE_URL=mock_base)
    response = client.post(path, data=nested(100), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)


def test_body_over_64_kib_is_413_json(client: FlaskClient) -> None:
    response = client.post("/complete", json={"prompt": "x" * 65536})
    assert response.status_code == 413
    assert isinstance(response.get_json()["detail"], str)


def test_body_just_under_the_limit_reaches_validation(client: FlaskClient) -> None:
    prompt = "x" * (65536 - len('{"prompt": ""}'))
    _assert_422(client.post("/complete", json={"prompt": prompt}), ["body", "prompt"])


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
    body = b'{"prompt": "' + b"x" * (size - 14) + b'"}'
    assert len(body) == size
    response = _post_unsized(client, body)
    assert response.status_code == status
    if status == 422:  # read whole: the over-long prompt, not a cut-off JSON document
        assert response.get_json()["detail"][0]["loc"] == ["body", "prompt"]


def test_unknown_route_is_404_json(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert isinstance(response.get_json()["detail"], str)


def test_wrong_method_is_405_json_with_allow(client: FlaskClient) -> None:
    response = client.get("/complete")
    assert response.status_code == 405
    assert isinstance(response.get_json()["detail"], str)
    assert "POST" in response.headers["Allow"]


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


def test_openapi_document_is_valid_and_complete(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ["/", "/health", "/hello"]:
        assert "200" in paths[path]["get"]["responses"]
    for path in ["/complete", "/complete/stream"]:
        operation = paths[path]["post"]
        body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body_ref.endswith("/CompleteRequest")
        assert {"200", "413", "422", "502", "503", "504"} <= set(operation["responses"])
    assert "text/event-stream" in paths["/complete/stream"]["post"]["responses"]["200"]["content"]
    request_schema = spec["components"]["schemas"]["CompleteRequest"]
    assert request_schema["required"] == ["prompt"]
    assert request_schema["properties"]["max_tokens"]["default"] == 512


def test_docs_page_is_html_with_local_assets(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "swagger-ui" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [url for url in assets if "://" in url]
    for asset in assets:
        # Relative URLs resolve against /docs, that is against the site root.
        with client.get("/" + asset) as asset_response:  # closes the served file
            assert asset_response.status_code == 200, asset
    assert json.loads(client.get("/openapi.json").data)["paths"]
