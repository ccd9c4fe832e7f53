"""The contract on the sync views, in process: bodies, validation, errors, schema, docs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import AsyncClient, Client
from openapi_spec_validator import validate

from drf_app.completions import async_views, llm, views
from tests.drf_app.conftest import run_async
from tests.drf_app.sse_events import parse_events


def post_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/", {"status": "ok", "service": "drf"}),
        ("/health", {"status": "healthy"}),
        ("/hello", {"message": "Hello from DRF"}),
    ],
)
def test_fixed_bodies(client: Client, path: str, body: dict[str, str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({}, "prompt", "required"),
        ({"prompt": ""}, "prompt", "blank"),
        ({"prompt": "x" * 4001}, "prompt", "max_length"),
        ({"prompt": 12}, "prompt", "invalid"),
        ({"prompt": None}, "prompt", "null"),
        ({"prompt": ["a"]}, "prompt", "invalid"),
        ({"prompt": "hi", "max_tokens": 0}, "max_tokens", "min_value"),
        ({"prompt": "hi", "max_tokens": 4097}, "max_tokens", "max_value"),
        ({"prompt": "hi", "max_tokens": "12"}, "max_tokens", "invalid"),
        ({"prompt": "hi", "max_tokens": True}, "max_tokens", "invalid"),
        ({"prompt": "hi", "max_tokens": 1.5}, "max_tokens", "invalid"),
        ({"prompt": "hi", "max_tokens": 4097.0}, "max_tokens", "max_value"),
        ({"prompt": "hi", "max_tokens": 1e16}, "max_tokens", "max_value"),
        ({"prompt": "hi", "max_tokens": 0.0}, "max_tokens", "min_value"),
        ({"prompt": "hi", "max_tokens": None}, "max_tokens", "null"),
    ],
)
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_invalid_body_is_422(
    client: Client, path: str, body: dict[str, Any], field: str, kind: str
) -> None:
    response = post_json(client, path, body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/json"
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["type"] == kind
    assert isinstance(error["msg"], str) and error["msg"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'["prompt"]', "application/json"),
        (b'{"prompt": NaN}', "application/json"),
        (b'{"prompt": "hi"}', "text/plain"),
    ],
)
def test_unreadable_body_is_422_at_body(client: Client, raw: bytes, content_type: str) -> None:
    response = client.post("/complete", data=raw, content_type=content_type)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body"]]


# Valid JSON whose prompt has no UTF-8 form, so it could not go upstream.
LONE_SURROGATE = b'{"prompt": "a\\ud800b"}'


def nested(depth: int) -> bytes:
    """A valid body whose ignored field `extra` is `depth` nested empty arrays."""
    return b'{"prompt": "x", "max_tokens": 2, "extra": ' + b"[" * depth + b"]" * depth + b"}"


def read(response: Any, content: bytes) -> tuple[int, Any]:
    """(status, JSON body), or (status, events) for an event stream."""
    return response.status_code, parse_events(content) if response.streaming else response.json()


def post_on_both_view_sets(path: str, raw: bytes) -> list[tuple[int, Any]]:
    """POST `raw` as JSON to the sync and the async views; read both answers."""

    async def scenario(api: AsyncClient) -> tuple[int, Any]:
        response = await api.post(path, raw, content_type="application/json")
        if not response.streaming:
            return read(response, response.content)
        # Read in the loop that owns the upstream connection, which then closes it.
        return read(response, b"".join([part async for part in response.streaming_content]))

    sync = Client(raise_request_exception=False).post(path, raw, content_type="application/json")
    content = b"".join(sync.streaming_content) if sync.streaming else sync.content
    return [read(sync, content), run_async(scenario)]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_prompt_with_a_lone_surrogate_is_422_at_the_prompt(client: Client, path: str) -> None:
    for status, body in post_on_both_view_sets(path, LONE_SURROGATE):
        assert status == 422
        [error] = body["detail"]
        assert (error["loc"], error["type"]) == (
            ["body", "prompt"],
            "surrogate_characters_not_allowed",
        )


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_too_deeply_to_parse_is_422_at_body(
    client: Client, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # About 10 KB of valid JSON that json.load gives up on with RecursionError.
    for status, body in post_on_both_view_sets(path, nested(5000)):
        assert status == 422
        [error] = body["detail"]
        assert (error["loc"], error["type"]) == (["body"], "parse_error")
    # Django logs a 4xx as a warning; only an uncaught error carries a traceback.
    assert not [record for record in caplog.records if record.exc_info]
    assert not [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_100_deep_is_accepted(client: Client, path: str) -> None:
    for status, body in post_on_both_view_sets(path, nested(100)):
        assert status == 200, body
        if path == "/complete/stream":
            assert body[-1][0] == "done", body


def test_body_without_content_type_is_read_as_json(client: Client) -> None:
    response = client.generic("POST", "/complete", b'{"prompt": ""}', content_type="")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


def test_prompt_is_not_trimmed_and_unknown_fields_are_ignored(client: Client) -> None:
    response = post_json(client, "/complete", {"prompt": "   ", "temperature": 3, "x": None})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_body_over_64_kib_is_413(client: Client, path: str) -> None:
    body = json.dumps({"prompt": "x" * 65536})
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert isinstance(response.json()["detail"], str)


def test_body_of_exactly_64_kib_is_read(client: Client) -> None:
    prefix, suffix = '{"prompt": "hi", "pad": "', '"}'
    body = prefix + "x" * (65536 - len(prefix) - len(suffix)) + suffix
    assert len(body) == 65536
    assert client.post("/complete", data=body, content_type="application/json").status_code == 200


def test_unknown_path_is_json_404(client: Client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_wrong_method_is_json_405(client: Client) -> None:
    response = client.get("/complete")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_disallowed_host_is_json_400(client: Client) -> None:
    response = client.get("/hello", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "detail" in response.json()


def test_accept_header_never_causes_406(client: Client) -> None:
    assert client.get("/hello", headers={"accept": "text/html"}).status_code == 200
    response = post_json(
        client, "/complete/stream", {"prompt": "hi"}, headers={"accept": "text/event-stream"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"


def test_openapi_document_describes_every_endpoint(client: Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    validate(document)
    paths = document["paths"]
    assert set(paths) == {"/", "/health", "/hello", "/complete", "/complete/stream"}
    for operation in (paths["/complete"]["post"], paths["/complete/stream"]["post"]):
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/CompletionRequest"}
        assert {"200", "413", "422", "502", "503", "504"} <= set(operation["responses"])
    assert "text/event-stream" in paths["/complete/stream"]["post"]["responses"]["200"]["content"]
    request = document["components"]["schemas"]["CompletionRequest"]
    assert request["properties"]["max_tokens"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 4096,
        "default": 512,
    }


def test_docs_page_uses_local_assets(client: Client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page


@pytest.mark.parametrize("module", [views, async_views])
def test_view_sets_are_all_sync_or_all_async(module: Any) -> None:
    want_async = module is async_views
    for name in ("IndexView", "HealthView", "HelloView", "CompleteView", "CompleteStreamView"):
        assert getattr(module, name).view_is_async is want_async


def test_uncaught_error_is_json_500(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(llm, "sync_client", broken)
    response = Client(raise_request_exception=False).post(
        "/complete", data='{"prompt": "hi"}', content_type="application/json"
    )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert "RuntimeError: bug" in caplog.text


def test_uncaught_error_is_json_500_on_async_views(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(llm, "async_client", broken)

    async def scenario(_: AsyncClient) -> Any:
        api = AsyncClient(raise_request_exception=False)
        return await api.post("/complete", {"prompt": "hi"}, content_type="application/json")

    response = run_async(scenario)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


def test_async_view_set_serves_errors_and_schema_as_json(client: Client) -> None:
    async def scenario(api: AsyncClient) -> list[Any]:
        missing = await api.get("/nowhere")
        wrong_method = await api.get("/complete/stream")
        schema = await api.get("/openapi.json")
        return [missing.status_code, missing.json(), wrong_method.status_code, schema.json()]

    missing_status, missing, wrong_status, schema = run_async(scenario)
    assert (missing_status, wrong_status) == (404, 405)
    assert "detail" in missing
    validate(schema)
    assert set(schema["paths"]) == {"/", "/health", "/hello", "/complete", "/complete/stream"}
