"""Fixtures of the Flask service's tests: a live mock LLM, a recording upstream, apps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from flask_app import create_app
from tests.flask_app.support import AppFactory, Recorder, RecordingHandler
from tests.support import mock_llm


@pytest.fixture(scope="session")
def mock_base() -> Iterator[str]:
    """A live mock LLM, fast enough for functional tests."""
    with mock_llm("--ttft-ms", "20", "--itl-ms", "2", "--output-tokens", "8") as base:
        yield base


@pytest.fixture
def make_client() -> Iterator[AppFactory]:
    """Build a test client for an app with the given config; close its upstream pool after."""
    apps = []

    def make(**config: Any) -> FlaskClient:
        app = create_app({"TESTING": True, **config})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["llm"].close()


@pytest.fixture
def recording_upstream() -> Iterator[tuple[str, Recorder]]:
    """A canned OpenAI-compatible upstream that records every request it receives."""
    recorder = Recorder()
    handler = type("Handler", (RecordingHandler,), {"recorder": recorder})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
