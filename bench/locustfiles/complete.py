"""Scenario `complete`: POST /complete, I/O-bound on the mock's latency.

    locust -f bench/locustfiles/complete.py --host http://127.0.0.1:8000

Knobs (Locust custom arguments): bench/locustfiles/scenario.py; precise statistics:
bench/locustfiles/plugin.py.
"""

from __future__ import annotations

from typing import Any

from bench.locustfiles import plugin
from bench.locustfiles.knobs import has_detail
from bench.locustfiles.scenario import ScenarioUser, active, body_failure
from bench.locustfiles.totals import WithoutDetail


class CompleteUser(ScenarioUser):
    scenario = "complete"

    def send(self, context: dict[str, Any]) -> None:
        with self.client.post(
            "/complete",
            json=active().body(),
            name="/complete",
            catch_response=True,
            context=context,
            headers={"X-Request-ID": context[plugin.REQUEST_ID]},
        ) as response:
            status = response.status_code
            if status >= 400 and not has_detail(response.content):
                response.failure(WithoutDetail(f"{status} without the contract's detail"))
            elif problem := body_failure(status, response.content, "tokens_used"):
                response.failure(problem)
