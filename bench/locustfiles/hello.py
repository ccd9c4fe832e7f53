"""Scenario `hello`: GET /hello, the framework-overhead probe (CPU-bound).

    locust -f bench/locustfiles/hello.py --host http://127.0.0.1:8000

Knobs (Locust custom arguments): bench/locustfiles/scenario.py; precise statistics:
bench/locustfiles/plugin.py.
"""

from __future__ import annotations

from typing import Any

from bench.locustfiles import plugin
from bench.locustfiles.scenario import ScenarioUser, body_failure


class HelloUser(ScenarioUser):
    scenario = "hello"

    def send(self, context: dict[str, Any]) -> None:
        with self.client.get(
            "/hello",
            name="/hello",
            catch_response=True,
            context=context,
            headers={"X-Request-ID": context[plugin.REQUEST_ID]},
        ) as response:
            if problem := body_failure(response.status_code, response.content, "message"):
                response.failure(problem)
