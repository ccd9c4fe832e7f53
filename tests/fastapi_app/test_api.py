"""FastAPI's own answers in process, in every variant: bodies it cannot parse, the echo
of invalid input, its default errors, the body-limit middleware, OpenAPI and ReDoc.

The contract itself is checked on the wire, for every service, by tests/services.
"""

from __future__ import annotations

import asyncio

import pytest
from openapi_spec_validator import validate
from starlette.types import Message, Scope

from fastapi_app.middleware import BodySizeLimitMiddleware
from tests.fastapi_app.support import VARIANTS, AppClient

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"prompt": "\xe9t\xe9"}', id="latin-1"),
        pytest.param(b"\x00\x00\x00\x00\x00", id="nul-bytes"),
        pytest.param(b'\xff\xfe{"prompt": "x"}', id="bom-then-garbage"),
    ],
)
def test_body_that_is_not_utf_8_is_422_like_malformed_json(
    app_client: AppClient, variant: str, path: str, raw: bytes
) -> None:
    # FastAPI itself answers 400 "There was an error parsing the body" here.
    response = app_client(variant=variant).post(path, content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body"], "json_invalid")
    assert isinstance(error["msg"], str)


# Valid JSON whose prompt has no UTF-8 form: the string check refuses it, and the 422's
# echo of it ("input") must still encode (it was a 500).
LONE_SURROGATE = b'{"prompt": "a\\ud800b"}'


def nested(depth: int) -> bytes:
    """A valid body whose ignored field `extra` is `depth` nested empty arrays."""
    return b'{"prompt": "x", "max_tokens": 2, "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_echo_of_a_prompt_with_a_lone_surrogate_is_utf_8(
    app_client: AppClient, variant: str, path: str
) -> None:
    response = app_client(variant=variant).post(path, content=LONE_SURROGATE, headers=JSON)
    assert response.status_code == 422, response.text
    response.content.decode("utf-8")  # strict: the echo is valid UTF-8
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "prompt"], "string_unicode")
    assert error["input"] == "a?b"


def test_echo_of_any_field_with_a_lone_surrogate_encodes(app_client: AppClient) -> None:
    # A missing prompt echoes the whole body, keys included.
    raw = b'{"\\udfff": "\\ud800", "max_tokens": "\\ud800"}'
    response = app_client().post("/complete", content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    locs = [error["loc"] for error in response.json()["detail"]]
    assert locs == [["body", "prompt"], ["body", "max_tokens"]]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_too_deeply_to_parse_is_422_at_body(
    app_client: AppClient, variant: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Valid JSON of about 10 KB that json.loads gives up on with RecursionError; FastAPI
    # itself answers 400 "There was an error parsing the body".
    response = app_client(variant=variant).post(path, content=nested(5000), headers=JSON)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body"], "json_invalid")
    assert not [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]


def test_other_http_errors_keep_fastapis_answers(app_client: AppClient) -> None:
    client = app_client()
    response = client.get("/complete")
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response.headers["allow"] == "POST"
    response = client.get("/nowhere")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def refuse(headers: list[tuple[bytes, bytes]], body_parts: int) -> tuple[int, int]:
    """Send a body over the limit to the middleware; return (status, body parts it read)."""
    parts: list[Message] = [
        {"type": "http.request", "body": b"x" * 40000, "more_body": i < body_parts - 1}
        for i in range(body_parts)
    ]
    taken, sent = 0, []

    async def receive() -> Message:
        nonlocal taken
        taken += 1
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Scope, receive: object, send: object) -> None:
        raise AssertionError("a body over the limit never reaches the app")

    scope = {"type": "http", "method": "POST", "path": "/complete", "headers": headers}
    asyncio.run(BodySizeLimitMiddleware(app)(scope, receive, send))
    return sent[0]["status"], taken


def test_a_refused_body_is_read_to_its_end_so_the_connection_stays_usable() -> None:
    assert refuse([(b"content-length", b"400000")], body_parts=10) == (413, 10)


def test_a_client_that_expects_100_continue_is_refused_before_sending_its_body() -> None:
    headers = [(b"content-length", b"400000"), (b"expect", b"100-continue")]
    assert refuse(headers, body_parts=10) == (413, 0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_openapi_is_valid_and_identical_across_variants(
    app_client: AppClient, variant: str
) -> None:
    document = app_client(variant=variant).get("/openapi.json").json()
    validate(document)
    assert document == app_client().get("/openapi.json").json()


def test_redoc_uses_local_assets(app_client: AppClient) -> None:
    client = app_client()
    response = client.get("/redoc")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "cdn.jsdelivr.net" not in response.text
    assert "fonts.googleapis.com" not in response.text
    assert client.get("/static/docs/redoc/bundles/redoc.standalone.js").status_code == 200
