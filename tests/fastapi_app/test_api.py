"""The contract on the wire, in process: bodies, validation, limits, OpenAPI and docs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.fastapi_app.conftest import AppClient


def parse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    """Return (event name, data) of each server-sent event in `text`."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name, data = "message", None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
        assert data is not None, block
        events.append((name, data))
    return events


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/", {"status": "ok", "service": "fastapi"}),
        ("/health", {"status": "healthy"}),
        ("/hello", {"message": "Hello from FastAPI"}),
    ],
)
def test_fixed_endpoints(client: TestClient, path: str, body: dict[str, str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


def test_complete(client: TestClient) -> None:
    response = client.post("/complete", json={"prompt": "Say hi", "max_tokens": 5, "x": 1})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"response", "tokens_used"}
    assert len(body["response"].split()) == 5
    assert isinstance(body["tokens_used"], int)
    assert body["tokens_used"] > 5  # usage.total_tokens counts the prompt too


def test_complete_default_max_tokens(client: TestClient) -> None:
    response = client.post("/complete", json={"prompt": "Say hi"})
    assert response.status_code == 200
    assert len(response.json()["response"].split()) == 8  # the mock's cap


def test_stream(client: TestClient) -> None:
    response = client.post("/complete/stream", json={"prompt": "Say hi", "max_tokens": 4})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_events(response.text)
    assert [name for name, _ in events] == ["message"] * 4 + ["done"]
    text = "".join(str(data["delta"]) for _, data in events[:-1])
    assert (
        text
        == client.post("/complete", json={"prompt": "Say hi", "max_tokens": 4}).json()["response"]
    )
    done = events[-1][1]
    assert set(done) == {"tokens_used"}
    assert isinstance(done["tokens_used"], int)


INVALID_BODIES = [
    pytest.param(b'{"prompt": ', ["body"], id="malformed-json"),
    pytest.param(b"{}", ["body", "prompt"], id="missing-prompt"),
    pytest.param(b'{"prompt": ""}', ["body", "prompt"], id="empty-prompt"),
    pytest.param(b'{"prompt": "' + b"a" * 4001 + b'"}', ["body", "prompt"], id="long-prompt"),
    pytest.param(b'{"prompt": 5}', ["body", "prompt"], id="number-prompt"),
    pytest.param(b'{"prompt": "x", "max_tokens": 0}', ["body", "max_tokens"], id="zero"),
    pytest.param(b'{"prompt": "x", "max_tokens": 4097}', ["body", "max_tokens"], id="too-many"),
    pytest.param(b'{"prompt": "x", "max_tokens": true}', ["body", "max_tokens"], id="bool"),
    pytest.param(b'{"prompt": "x", "max_tokens": "5"}', ["body", "max_tokens"], id="string"),
    pytest.param(b'{"prompt": "x", "max_tokens": 5.5}', ["body", "max_tokens"], id="float"),
    pytest.param(b'{"prompt": "x", "max_tokens": 4097.0}', ["body", "max_tokens"], id="float-4097"),
    pytest.param(b'{"prompt": "x", "max_tokens": 0.0}', ["body", "max_tokens"], id="float-zero"),
    pytest.param(b"[]", ["body"], id="array"),
    pytest.param(b'{"prompt": "a\\ud800b"}', ["body", "prompt"], id="lone-surrogate"),
    pytest.param(b'{"prompt": "x", "n": ' + b"[" * 5000 + b"]" * 5000 + b"}", ["body"], id="deep"),
]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
@pytest.mark.parametrize(("raw", "loc"), INVALID_BODIES)
def test_invalid_body_is_422(client: TestClient, path: str, raw: bytes, loc: list[str]) -> None:
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error)
    assert errors[0]["loc"][: len(loc)] == loc


@pytest.mark.parametrize("variant", ["async", "sync", "blocking"])
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
    client = app_client(variant=variant, base_url="http://127.0.0.1:9/v1")
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["type"] == "json_invalid"
    assert isinstance(error["msg"], str)


# Valid JSON whose prompt has no UTF-8 form: the string check refuses it, and the 422's
# echo of it ("input") must still encode (it was a 500).
LONE_SURROGATE = b'{"prompt": "a\\ud800b"}'


def nested(depth: int) -> bytes:
    """A valid body whose ignored field `extra` is `depth` nested empty arrays."""
    return b'{"prompt": "x", "max_tokens": 2, "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("variant", ["async", "sync", "blocking"])
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_prompt_with_a_lone_surrogate_is_422_at_the_prompt(
    app_client: AppClient, variant: str, path: str
) -> None:
    # Port 9: the upstream must never be called.
    client = app_client(variant=variant, base_url="http://127.0.0.1:9/v1")
    response = client.post(
        path, content=LONE_SURROGATE, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    response.content.decode("utf-8")  # strict: the echo is valid UTF-8
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "prompt"], "string_unicode")
    assert error["input"] == "a?b"


def test_echo_of_any_field_with_a_lone_surrogate_encodes(client: TestClient) -> None:
    # A missing prompt echoes the whole body, keys included.
    raw = b'{"\\udfff": "\\ud800", "max_tokens": "\\ud800"}'
    response = client.post("/complete", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    locs = [error["loc"] for error in response.json()["detail"]]
    assert locs == [["body", "prompt"], ["body", "max_tokens"]]


@pytest.mark.parametrize("variant", ["async", "sync", "blocking"])
@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_too_deeply_to_parse_is_422_at_body(
    app_client: AppClient, variant: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Valid JSON of about 10 KB that json.loads gives up on with RecursionError; FastAPI
    # itself answers 400 "There was an error parsing the body".
    client = app_client(variant=variant, base_url="http://127.0.0.1:9/v1")
    raw = nested(5000)
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body"], "json_invalid")
    assert not [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_json_nested_100_deep_is_accepted(client: TestClient, path: str) -> None:
    response = client.post(path, content=nested(100), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_other_http_errors_keep_fastapis_answers(client: TestClient) -> None:
    response = client.get("/complete")
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response.headers["allow"] == "POST"
    response = client.post("/complete", content=b"x" * 65537)
    assert (response.status_code, response.headers["content-type"]) == (413, "application/json")


def test_prompt_of_4000_characters_is_accepted(client: TestClient) -> None:
    response = client.post("/complete", json={"prompt": "a" * 4000, "max_tokens": 1})
    assert response.status_code == 200


def _body_of(size: int) -> bytes:
    return b'{"prompt": "' + b"a" * (size - 14) + b'"}'


@pytest.mark.parametrize("path", ["/complete", "/complete/stream"])
def test_declared_body_over_64_kib_is_413(client: TestClient, path: str) -> None:
    raw = _body_of(65537)
    assert len(raw) == 65537
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert isinstance(response.json()["detail"], str)


def test_body_of_exactly_64_kib_passes_the_limit(client: TestClient) -> None:
    raw = _body_of(65536)
    response = client.post("/complete", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422  # past the size check, then too long a prompt


def test_chunked_body_over_64_kib_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(9):
            yield b"a" * 8192

    response = client.post(
        "/complete", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert isinstance(response.json()["detail"], str)


def test_unknown_path_is_json_404(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_refused_upstream_is_502(app_client: AppClient) -> None:
    client = app_client(base_url="http://127.0.0.1:9/v1")
    response = client.post("/complete", json={"prompt": "x"})
    assert response.status_code == 502
    assert isinstance(response.json()["detail"], str)
    response = client.post("/complete/stream", json={"prompt": "x"})
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("variant", ["async", "sync", "blocking"])
def test_openapi_is_valid_and_identical_across_variants(
    app_client: AppClient, variant: str
) -> None:
    document = app_client(variant=variant).get("/openapi.json").json()
    reference = app_client().get("/openapi.json").json()
    validate(document)
    assert document == reference
    assert set(document["paths"]) == {"/", "/health", "/hello", "/complete", "/complete/stream"}
    complete = document["paths"]["/complete"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CompletionRequest"
    )
    assert set(complete["responses"]) == {"200", "413", "422", "502", "503", "504"}
    stream = document["paths"]["/complete/stream"]["post"]["responses"]
    assert set(stream["200"]["content"]) == {"text/event-stream"}
    assert set(stream["503"]["content"]) == {"application/json"}
    request = document["components"]["schemas"]["CompletionRequest"]["properties"]
    assert request["prompt"]["minLength"] == 1
    assert request["prompt"]["maxLength"] == 4000
    assert request["max_tokens"]["default"] == 512
    # The integral-float leniency (1.0 -> 1) leaves the documented type alone.
    assert request["max_tokens"]["type"] == "integer"
    assert (request["max_tokens"]["minimum"], request["max_tokens"]["maximum"]) == (1, 4096)


def test_docs_use_local_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "cdn.jsdelivr.net" not in response.text
        assert "fonts.googleapis.com" not in response.text
    html = client.get("/docs").text
    for asset in (
        "/static/docs/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/docs/swagger-ui-dist/swagger-ui.css",
    ):
        assert asset in html
        assert client.get(asset).status_code == 200
    assert client.get("/static/docs/redoc/bundles/redoc.standalone.js").status_code == 200
