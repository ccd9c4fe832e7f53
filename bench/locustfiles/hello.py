"""Scenario `hello`: GET /hello, the framework-overhead probe (CPU-bound).

    locust -f bench/locustfiles/hello.py --host http://127.0.0.1:8000

Knobs (Locust custom arguments): bench/locustfiles/scenario.py; precise statistics:
bench/locustfiles/plugin.py.
"""

from __future__ import annotations

from locust import task

from bench.locustfiles import plugin  # noqa: F401  (registers the statistics listeners)
from bench.locustfiles.scenario import ScenarioUser, body_failure


class HelloUser(ScenarioUser):
    @task
    def hello(self) -> None:
        with self.client.get("/hello", name="/hello", catch_response=True) as response:
            if problem := body_failure(response.status_code, response.content, "message"):
                response.failure(problem)
