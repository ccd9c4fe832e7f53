"""Fuzz every service with cases that schemathesis derives from the service's own OpenAPI document.

Every answer goes through every check that schemathesis has (`st run --checks all`):
status codes, content types, headers and bodies as documented (each server-sent event
too), positive data accepted and negative data rejected, and more. On top of those, the
contract's own: the upstream is a healthy mock, so no answer may be a 5xx (the mapped
502/503/504 need an upstream fault); every 4xx is JSON with a `detail`; a positive case
succeeds (a stream ends with `done`), a negative one is the contract's 422.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.services.live import Deployment, Service, assert_validation_detail, serve
from tests.services.sse import parse_events
from tests.support import mock_llm

pytestmark = pytest.mark.process  # live services and mocks

# Answers in a few milliseconds: at most 3 tokens, 1 ms apart.
FUZZ_MOCK = ("--ttft-ms", "1", "--itl-ms", "1", "--output-tokens", "3")
FAULT_MARKER = "[mock-error:"


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[str]:
    with mock_llm(*FUZZ_MOCK) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def fuzzed(service: Service, fuzz_mock: str) -> Iterator[Deployment]:
    with serve(service, fuzz_mock) as live:
        yield live


@pytest.fixture(scope="module")
def schema(fuzzed: Deployment) -> schemathesis.BaseSchema:
    """The service's own OpenAPI document, as schemathesis reads it, with every check on."""
    document = httpx.get(f"{fuzzed.base}/openapi.json").json()
    config = SchemathesisConfig()
    config.projects.override.checks.update(included_check_names=["all"])
    return schemathesis.openapi.from_dict(document, config=config)


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def media_type(response: schemathesis.Response) -> str:
    return response.headers.get("content-type", [""])[0].split(";")[0].strip()


def describe(case: Case, response: schemathesis.Response) -> str:
    """The request and the answer, for an assertion message."""
    request = f"{case.method} {case.path} body={case.body!r:.300}"
    return f"{request} -> {response.status_code} {media_type(response)} {response.content[:300]!r}"


def assert_contract_answer(case: Case, response: schemathesis.Response) -> None:
    """No 5xx from a healthy upstream; every 4xx is JSON with a `detail`."""
    assert response.status_code < 500, describe(case, response)
    if response.status_code >= 400:
        assert media_type(response) == "application/json", describe(case, response)
        body = json.loads(response.content)
        assert isinstance(body, dict) and "detail" in body, describe(case, response)


def assert_success(case: Case, response: schemathesis.Response) -> None:
    """A case that fits the document succeeds; a stream ends with its `done` event."""
    assert response.status_code == 200, describe(case, response)
    if case.path == "/complete/stream":
        names = [event.name for event in parse_events(response.content)]
        assert names[-1:] == ["done"], describe(case, response)


def assert_rejected(case: Case, response: schemathesis.Response) -> None:
    """A body that breaks the document is an invalid body: the contract's 422."""
    assert response.status_code == 422, describe(case, response)
    assert_validation_detail(json.loads(response.content)["detail"])


def run_cases(
    strategy: st.SearchStrategy[Case], base: str, max_examples: int, *, negative: bool = False
) -> None:
    """Send each generated case to `base` and check the answer."""
    with requests.Session() as session:

        @fuzz_settings(max_examples)
        @given(case=strategy)
        def send(case: Case) -> None:
            # Never let a generated prompt inject a fault into the mock.
            assume(FAULT_MARKER not in json.dumps(case.body, default=repr).lower())
            response = case.call(base_url=base, session=session, timeout=10)
            # Every schemathesis check; those that send more requests send them to `base`.
            case.validate_response(response, transport_kwargs={"base_url": base})
            assert_contract_answer(case, response)
            if negative:
                assert_rejected(case, response)
            else:
                assert_success(case, response)

        send()


@pytest.mark.parametrize(
    ("path", "mode", "max_examples"),
    [
        pytest.param("/complete", GenerationMode.POSITIVE, 30, id="complete-positive"),
        pytest.param("/complete", GenerationMode.NEGATIVE, 40, id="complete-negative"),
        pytest.param("/complete/stream", GenerationMode.POSITIVE, 5, id="stream-positive"),
        pytest.param("/complete/stream", GenerationMode.NEGATIVE, 10, id="stream-negative"),
    ],
)
def test_fuzz_completion_endpoints(
    fuzzed: Deployment,
    schema: schemathesis.BaseSchema,
    path: str,
    mode: GenerationMode,
    max_examples: int,
) -> None:
    strategy = schema[path]["POST"].as_strategy(generation_mode=mode)
    run_cases(strategy, fuzzed.base, max_examples, negative=mode.is_negative)


@pytest.mark.parametrize("path", ["/", "/health", "/hello"])
def test_fuzz_get_endpoints(fuzzed: Deployment, schema: schemathesis.BaseSchema, path: str) -> None:
    strategy = schema[path]["GET"].as_strategy(generation_mode=GenerationMode.POSITIVE)
    run_cases(strategy, fuzzed.base, 5)
