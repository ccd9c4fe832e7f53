"""DRF's own answers in process, on both view sets: its error codes, bodies it cannot
parse, content negotiation, Django's errors outside the views, and uncaught errors.

The contract itself is checked on the wire, for every service, by tests/services (on
the sync views; the async ones serve there under uvicorn and gunicorn's uvicorn worker).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import AsyncClient, Client
from openapi_spec_validator import validate

from drf_app.completions import async_views, llm, views
from tests.drf_app.support import run_async, streaming
from tests.services.sse import parse_events


def post_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


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
        ({"prompt": "hi", "max_tokens": 1e16}, "max_tokens", "max_value"),
        ({"prompt": "hi", "max_tokens": None}, "max_tokens", "null"),
    ],
)
def test_invalid_field_is_422_with_drfs_error_code(
    client: Client, body: dict[str, Any], field: str, kind: str
) -> None:
    response = post_json(client, "/complete", body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", field], kind)
    assert isinstance(error["msg"], str) and error["msg"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b'{"prompt": NaN}', "application/json"), (b'{"prompt": "hi"}', "text/plain")],
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
    """(status, JSON body), or (status, event names) for an event stream."""
    if response.streaming:
        return response.status_code, [event.name for event in parse_events(content)]
    return response.status_code, response.json()


def post_on_both_view_sets(path: str, raw: bytes) -> list[tuple[int, Any]]:
    """POST `raw` as JSON to the sync and the async views; read both answers."""

    async def scenario(api: AsyncClient) -> tuple[int, Any]:
        response = await api.post(path, raw, content_type="application/json")
        if not response.streaming:
            return read(response, response.content)
        # Read in the loop that owns the upstream connection, which then closes it.
        return read(response, b"".join([part async for part in streaming(response)]))

    sync = Client(raise_request_exception=False).post(path, raw, content_type="application/json")
    content = b"".join(streaming(sync)) if sync.streaming else sync.content
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


@pytest.mark.process  # a live mock
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_100_deep_is_accepted_by_both_view_sets(
    upstream: Callable[..., None], path: str
) -> None:
    for status, body in post_on_both_view_sets(path, nested(100)):
        assert status == 200, body
        if path == "/complete/stream":
            assert body[-1] == "done", body


def test_body_without_content_type_is_read_as_json(client: Client) -> None:
    response = client.generic("POST", "/complete", b'{"prompt": ""}', content_type="")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


def test_disallowed_host_is_json_400(client: Client) -> None:
    response = client.get("/hello", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.process  # a live mock
def test_accept_header_never_causes_406(client: Client, upstream: Callable[..., None]) -> None:
    assert client.get("/hello", headers={"accept": "text/html"}).status_code == 200
    response = post_json(
        client, "/complete/stream", {"prompt": "hi"}, headers={"accept": "text/event-stream"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    b"".join(streaming(response))


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
    assert schema == client.get("/openapi.json").json()  # the same document as the sync set's
