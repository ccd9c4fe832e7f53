"""Request IDs end to end (docs/contract.md), live, on every service and server model.

The mock writes each call's X-Request-ID to its request log (--request-log), and the
services run with REQUEST_LOG=1 and their stderr in a file: a request's ID is checked
on its answer, in the mock's log (its upstream call) and in the service's access line.
Requests go through one pooled keep-alive client, several of them in flight at once, so
that an ID leaking from one request into another (a thread's or a greenlet's context
reused) would show.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.services.live import SERVER_MODELS, SERVICES, Deployment, Service, serve
from tests.services.sse import post_stream
from tests.support import logged_calls, mock_llm, request_log

pytestmark = pytest.mark.process  # live services and a live mock

PROMPT = "Tell me about the quick brown fox."
HEADER = "X-Request-ID"
HEX_ID = re.compile(r"[0-9a-f]{32}")
# Every character that the contract allows in a request ID.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/+="
# Short answers: 5 tokens at most, the first after 20 ms, then one every 5 ms.
LOGGED_MOCK = ("--ttft-ms", "20", "--itl-ms", "5", "--output-tokens", "5")
IN_FLIGHT = 6  # requests in flight at once on the pooled client
WAIT_S = 5.0  # for a line to reach a log file (the mock writes within a second)


@dataclass(frozen=True)
class LoggedMock:
    """A live mock and the file where it logs each call."""

    upstream: str
    log: Path


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


def returned_id(headers: httpx.Headers) -> str:
    value = headers.get(HEADER)
    assert value is not None, headers
    return str(value)


def broken(fault: str) -> dict[str, Any]:
    """A body whose prompt makes the mock inject `fault` into this one call."""
    return {"prompt": f"{PROMPT} [mock-error:{fault}]"}


@pytest.fixture(scope="module")
def logged_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedMock]:
    log = tmp_path_factory.mktemp("mock") / "calls.csv"
    with mock_llm(*LOGGED_MOCK, "--request-log", str(log)) as upstream:
        yield LoggedMock(upstream, log)


def serve_logged(
    service: Service, mock: LoggedMock, directory: Path, server: str | None = None
) -> Iterator[Deployment]:
    """The service with REQUEST_LOG=1, its log in `directory`, calling the logged mock."""
    log = directory / "service.log"
    with serve(service, mock.upstream, server, env={"REQUEST_LOG": "1"}, log=log) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def live(
    service: Service, logged_mock: LoggedMock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Each service (conftest's `service`) under its default server model."""
    yield from serve_logged(service, logged_mock, tmp_path_factory.mktemp(service.name))


@pytest.fixture
def http(live: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base, timeout=10) as client:
        yield client


def service_log(deployment: Deployment) -> str:
    assert deployment.log is not None
    return deployment.log.read_text(errors="replace")


AccessLine = tuple[str, str, str, int]  # request_id, method, path, status


def wait_access_lines(deployment: Deployment, lines: list[AccessLine]) -> None:
    """Wait until the service's log has the access line of each request."""
    patterns = [
        re.compile(
            rf"request_id={re.escape(rid)} method={method} path={re.escape(path)} "
            rf"status={status} ms=\d+\.\d\b"
        )
        for rid, method, path, status in lines
    ]
    deadline = time.monotonic() + WAIT_S
    while True:
        text = service_log(deployment)
        missing = [pattern.pattern for pattern in patterns if not pattern.search(text)]
        if not missing:
            return
        assert time.monotonic() < deadline, (missing, text[-3000:])
        time.sleep(0.1)


def assert_not_logged(deployment: Deployment, mock: LoggedMock, marker: str) -> None:
    """Nothing that a client sent as an invalid ID reached either log."""
    assert marker not in service_log(deployment)
    assert marker not in mock.log.read_text(errors="replace")


# A given ID, a missing one, invalid ones


def test_given_id_is_returned_passed_upstream_and_logged(
    live: Deployment, logged_mock: LoggedMock, http: httpx.Client
) -> None:
    plain, streamed = new_id("plain"), new_id("stream")
    complete = http.post(
        "/complete", json={"prompt": PROMPT, "max_tokens": 3}, headers={HEADER: plain}
    )
    assert complete.status_code == 200, complete.text
    assert returned_id(complete.headers) == plain
    answer = post_stream(http, {"prompt": PROMPT, "max_tokens": 4}, {HEADER: streamed})
    assert answer.status == 200, answer.body
    assert returned_id(answer.headers) == streamed
    assert answer.names == ["message"] * 4 + ["done"]

    calls = logged_calls(logged_mock.log, [plain, streamed], WAIT_S)
    row = calls[plain]
    assert (row["status"], row["stream"], row["tokens"], row["fault"]) == ("200", "0", "3", "")
    assert row["first_token_at"] == ""
    assert float(row["received_at"]) <= float(row["ended_at"])
    row = calls[streamed]
    assert (row["status"], row["stream"], row["tokens"], row["fault"]) == ("200", "1", "4", "")
    assert float(row["received_at"]) <= float(row["first_token_at"]) <= float(row["ended_at"])
    wait_access_lines(
        live, [(plain, "POST", "/complete", 200), (streamed, "POST", "/complete/stream", 200)]
    )


def test_missing_id_is_made_returned_and_passed_upstream(
    live: Deployment, logged_mock: LoggedMock, http: httpx.Client
) -> None:
    complete = http.post("/complete", json={"prompt": PROMPT, "max_tokens": 2})
    hello = http.get("/hello")
    made = [returned_id(complete.headers), returned_id(hello.headers)]
    assert all(HEX_ID.fullmatch(rid) for rid in made), made
    assert made[0] != made[1]
    assert logged_calls(logged_mock.log, made[:1], WAIT_S)[made[0]]["status"] == "200"
    wait_access_lines(live, [(made[0], "POST", "/complete", 200), (made[1], "GET", "/hello", 200)])


@pytest.mark.parametrize(
    "accepted",
    [
        pytest.param(lambda tag: f"{ALPHABET}{tag[:12]}", id="every-allowed-character"),
        pytest.param(lambda tag: (tag * 4)[:128], id="128-characters"),
        pytest.param(lambda tag: tag[:1], id="1-character"),
    ],
)
def test_sane_id_is_kept(
    live: Deployment, logged_mock: LoggedMock, http: httpx.Client, accepted: Callable[[str], str]
) -> None:
    sent = accepted(uuid.uuid4().hex)
    response = http.post(
        "/complete", json={"prompt": PROMPT, "max_tokens": 1}, headers={HEADER: sent}
    )
    assert response.status_code == 200, response.text
    assert returned_id(response.headers) == sent
    if len(sent) > 1:  # a one-character ID may well have been sent before
        assert logged_calls(logged_mock.log, [sent], WAIT_S)[sent]["status"] == "200"


# Each value embeds `tag`, so that the tests can look for it in the logs.
INVALID_IDS = [
    pytest.param(lambda tag: (tag * 20)[:129], id="129-characters"),
    pytest.param(lambda tag: f"id {tag}", id="space"),
    pytest.param(lambda tag: f"id\t{tag}", id="tab"),
    pytest.param(lambda tag: f"id,{tag}", id="comma"),
    pytest.param(lambda tag: f'id"{tag}', id="quote"),
    pytest.param(lambda tag: f"id%0A{tag}", id="percent"),
    pytest.param(lambda tag: f"id;{tag}", id="semicolon"),
    pytest.param(lambda tag: f"caf\u00e9-{tag}".encode(), id="non-ascii-utf-8"),
    pytest.param(lambda tag: f"caf\u00e9-{tag}".encode("latin-1"), id="non-ascii-latin-1"),
    pytest.param(lambda tag: "", id="empty"),
]


@pytest.mark.parametrize("invalid", INVALID_IDS)
def test_invalid_id_is_replaced_and_never_echoed(
    live: Deployment,
    logged_mock: LoggedMock,
    http: httpx.Client,
    invalid: Callable[[str], str | bytes],
) -> None:
    tag = uuid.uuid4().hex[:12]
    value = invalid(tag)
    # As bytes, so that httpx sends non-ASCII values as they are.
    sent = [(HEADER.encode(), value if isinstance(value, bytes) else value.encode())]
    response = http.post("/complete", json={"prompt": PROMPT, "max_tokens": 1}, headers=sent)
    assert response.status_code == 200, response.text
    replacement = returned_id(response.headers)
    assert HEX_ID.fullmatch(replacement), replacement
    assert tag not in replacement
    # The replacement is what went upstream and what the access line says.
    logged_calls(logged_mock.log, [replacement], WAIT_S)
    wait_access_lines(live, [(replacement, "POST", "/complete", 200)])
    assert_not_logged(live, logged_mock, tag)


def raw_request(base: str, header_lines: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """GET /hello on a socket of its own with `header_lines` as sent; return status and headers."""
    url = urlsplit(base)
    request = (
        b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header_lines + b"Connection: close\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


@pytest.mark.parametrize(
    "sent",
    [
        # An obsolete line folding: a CR LF and a space continue the value on a new line.
        pytest.param(b"X-Request-ID: evil-%s\r\n injected-%s\r\n", id="obs-fold"),
        pytest.param(b"X-Request-ID: evil-%s\rinjected-%s\r\n", id="bare-cr"),
        pytest.param(b"X-Request-ID: evil-%s\x00injected-%s\r\n", id="nul"),
    ],
)
def test_newline_in_the_id_is_refused_or_replaced(
    live: Deployment, logged_mock: LoggedMock, sent: bytes
) -> None:
    """httpx refuses to send these: a raw socket does. No server may echo the value."""
    tag = uuid.uuid4().hex[:12].encode()
    status, headers = raw_request(live.base, sent % (tag, tag))
    code = status.split()[1]
    if code == b"200":
        assert HEX_ID.fullmatch(headers[b"x-request-id"].decode()), headers
    else:  # the server's own parser refused the request
        assert code == b"400", status
    assert all(tag not in value for value in headers.values()), headers
    assert_not_logged(live, logged_mock, tag.decode())


# Every kind of answer carries the ID


ANSWERS = [
    # method, path, body, status, the upstream fault (None: no upstream call)
    pytest.param("GET", "/", None, 200, None, id="root"),
    pytest.param("GET", "/health", None, 200, None, id="health"),
    pytest.param("GET", "/hello", None, 200, None, id="hello"),
    pytest.param("GET", "/no/such/path", None, 404, None, id="404"),
    pytest.param("POST", "/complete", {"prompt": ""}, 422, None, id="422"),
    pytest.param("POST", "/complete", broken("500"), 502, "500", id="502"),
    pytest.param("POST", "/complete", broken("disconnect"), 502, "disconnect", id="drop"),
    pytest.param("POST", "/complete", broken("429"), 503, "429", id="503"),
    pytest.param("POST", "/complete", broken("stall"), 504, "stall", id="504"),
    pytest.param("POST", "/complete/stream", {"prompt": ""}, 422, None, id="stream-422"),
    pytest.param("POST", "/complete/stream", broken("500"), 502, "500", id="stream-502"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status", "fault"), ANSWERS)
def test_every_answer_carries_the_id(
    live: Deployment,
    logged_mock: LoggedMock,
    http: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    fault: str | None,
) -> None:
    sent = new_id(f"answer-{status}")
    response = http.request(method, path, json=body, headers={HEADER: sent})
    assert response.status_code == status, response.text
    assert response.headers.get("content-type", "").startswith("application/json")
    assert returned_id(response.headers) == sent
    if fault is not None:
        row = logged_calls(logged_mock.log, [sent], WAIT_S)[sent]
        # The status the mock sent (500, 429), or the drop or stall it made instead.
        assert (row["status"], row["fault"]) == (fault, fault), row
    wait_access_lines(live, [(sent, method, path, status)])


def test_refused_body_carries_the_id(live: Deployment) -> None:
    sent = new_id("413")
    body = b'{"prompt": "' + b"x" * 70_000 + b'"}'
    # A connection of its own: a server may close it after refusing the body.
    with httpx.Client(base_url=live.base, timeout=10) as fresh:
        response = fresh.post(
            "/complete", content=body, headers={"Content-Type": "application/json", HEADER: sent}
        )
    assert response.status_code == 413, response.text
    assert returned_id(response.headers) == sent
    wait_access_lines(live, [(sent, "POST", "/complete", 413)])


# Several requests in flight on one pooled client


def exchange(http: httpx.Client, kind: str, sent: str | None) -> str:
    """One request of `kind` (complete, stream or hello); return the ID it came back with."""
    headers = {HEADER: sent} if sent is not None else None
    if kind == "stream":
        answer = post_stream(http, {"prompt": PROMPT, "max_tokens": 3}, headers)
        assert answer.status == 200 and answer.names[-1] == "done", (answer.status, answer.body)
        return returned_id(answer.headers)
    if kind == "complete":
        response = http.post("/complete", json={"prompt": PROMPT, "max_tokens": 2}, headers=headers)
    else:
        response = http.get("/hello", headers=headers)
    assert response.status_code == 200, response.text
    return returned_id(response.headers)


ROUTES = {
    "complete": ("POST", "/complete"),
    "stream": ("POST", "/complete/stream"),
    "hello": ("GET", "/hello"),
}


def check_concurrent_requests(deployment: Deployment, mock: LoggedMock, count: int) -> None:
    """`count` requests, IN_FLIGHT at a time on one client: IDs given, missing and invalid."""
    tag = uuid.uuid4().hex[:12]
    plans: list[tuple[str, str | None]] = [
        (("complete", "stream", "hello")[i % 3], None if i % 4 == 3 else new_id(f"batch{i}"))
        for i in range(count)
    ]
    plans.append(("complete", f"bad id {tag}"))
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    with (
        httpx.Client(base_url=deployment.base, timeout=10, limits=limits) as http,
        ThreadPoolExecutor(IN_FLIGHT) as pool,
    ):
        got = list(pool.map(lambda plan: exchange(http, *plan), plans))
    for (_, sent), rid in zip(plans, got, strict=True):
        if sent is None or " " in sent:
            assert HEX_ID.fullmatch(rid), (sent, rid)
        else:
            assert rid == sent
    assert len(set(got)) == len(got), got  # each request its own ID

    upstream = {rid: kind for (kind, _), rid in zip(plans, got, strict=True) if kind != "hello"}
    calls = logged_calls(mock.log, list(upstream), WAIT_S)
    for rid, kind in upstream.items():
        assert calls[rid]["stream"] == ("1" if kind == "stream" else "0"), calls[rid]
        assert calls[rid]["status"] == "200", calls[rid]
    counts = Counter(row["request_id"] for row in request_log(mock.log))
    assert all(counts[rid] == 1 for rid in upstream), counts  # exactly one call each
    lines = [(rid, *ROUTES[kind], 200) for (kind, _), rid in zip(plans, got, strict=True)]
    wait_access_lines(deployment, lines)
    assert_not_logged(deployment, mock, tag)


def test_concurrent_requests_keep_their_own_ids(live: Deployment, logged_mock: LoggedMock) -> None:
    check_concurrent_requests(live, logged_mock, 24)


@pytest.fixture(
    scope="module",
    params=SERVER_MODELS,
    ids=[f"{service.name}-{server}" for service, server in SERVER_MODELS],
)
def model(
    request: pytest.FixtureRequest,
    logged_mock: LoggedMock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """Each (service, server model) in turn, one worker, with REQUEST_LOG=1."""
    service, server = request.param
    directory = tmp_path_factory.mktemp(f"{service.name}-{server}")
    yield from serve_logged(service, logged_mock, directory, server)


def test_server_model(model: Deployment, logged_mock: LoggedMock) -> None:
    check_concurrent_requests(model, logged_mock, 9)
    sent = new_id("model-422")
    with httpx.Client(base_url=model.base, timeout=10) as http:
        refused = http.post("/complete", json={"prompt": ""}, headers={HEADER: sent})
    assert (refused.status_code, returned_id(refused.headers)) == (422, sent)
    wait_access_lines(model, [(sent, "POST", "/complete", 422)])


# Every upstream client of every service

SERVICE = {service.name: service for service in SERVICES}
ASYNC_SDK = ("openai", "openai-aiohttp")
CLIENTS = [
    # service, server, flags, LLM_CLIENT
    *[("fastapi", "uvicorn", (), client) for client in ("aiohttp", "httpx", *ASYNC_SDK)],
    *[("fastapi", "uvicorn", ("--variant", "sync"), client) for client in ("openai", "httpx")],
    *[("flask", "gunicorn-gthread", (), client) for client in ("urllib3", "httpx", "openai")],
    *[("drf", "gunicorn-gthread", (), client) for client in ("urllib3", "httpx", "openai")],
    *[("drf", "uvicorn", (), client) for client in ("aiohttp", *ASYNC_SDK)],
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "server", "flags", "client"),
    CLIENTS,
    ids=[f"{name}-{server}{''.join(flags)}-{client}" for name, server, flags, client in CLIENTS],
)
def test_every_upstream_client_passes_the_id(
    logged_mock: LoggedMock, name: str, server: str, flags: tuple[str, ...], client: str
) -> None:
    plain, streamed = new_id(f"{client}-plain"), new_id(f"{client}-stream")
    env = {"LLM_CLIENT": client}
    with (
        serve(SERVICE[name], logged_mock.upstream, server, env=env, flags=flags) as deployment,
        httpx.Client(base_url=deployment.base, timeout=10) as http,
    ):
        assert exchange(http, "complete", plain) == plain
        assert exchange(http, "stream", streamed) == streamed
    calls = logged_calls(logged_mock.log, [plain, streamed], WAIT_S)
    assert (calls[plain]["stream"], calls[plain]["status"]) == ("0", "200")
    assert (calls[streamed]["stream"], calls[streamed]["status"]) == ("1", "200")
