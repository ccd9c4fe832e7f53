"""Live services and mock upstreams for the cross-service contract tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.live import (
    CONTRACT_MOCK,
    SERVICES,
    Deployment,
    Service,
    closed_upstream,
    serve,
)
from tests.support import mock_llm


@pytest.fixture(scope="module", params=SERVICES, ids=[service.name for service in SERVICES])
def service(request: pytest.FixtureRequest) -> Service:
    """Each service in turn; module scope groups a module's tests by service."""
    chosen: Service = request.param
    return chosen


@pytest.fixture(scope="module")
def contract_mock() -> Iterator[str]:
    """The upstream of the contract tests; yields its base URL (…/v1)."""
    with mock_llm(*CONTRACT_MOCK) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def deployment(service: Service, contract_mock: str) -> Iterator[Deployment]:
    """The service under its default server model, calling the contract mock."""
    with serve(service, contract_mock) as live:
        yield live


@pytest.fixture(scope="module")
def refused_deployment(service: Service) -> Iterator[Deployment]:
    """The service pointed at a port where nothing listens."""
    with closed_upstream() as upstream, serve(service, upstream) as live:
        yield live
