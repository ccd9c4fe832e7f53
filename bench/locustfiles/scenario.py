"""What every scenario shares inside Locust: the knobs as custom arguments, the user base.

The knobs (bench.locustfiles.knobs) are Locust's own custom arguments
(`events.init_command_line_parser`): they appear in Locust's web UI, a master passes them
to its workers, and each also reads an environment variable as its default. The knobs in
force are read when a test starts (on a worker: after its master's spawn message has
brought them), and the users read them from there.
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, events
from locust.env import Environment

from bench.locustfiles.knobs import ARGUMENTS, LoadConfig, body_failure

__all__ = ["ScenarioUser", "active", "body_failure"]


class _Active:
    """The knobs in force in this process."""

    config = LoadConfig.from_env()


def active() -> LoadConfig:
    """The knobs in force (the environment's until a test starts with its arguments)."""
    return _Active.config


class ScenarioUser(FastHttpUser):
    """A user of any scenario: its pacing and timeouts follow the knobs in force."""

    abstract = True

    def __init__(self, environment: Environment) -> None:
        # FastHttpUser builds its client from these in its own __init__.
        self.network_timeout = self.connection_timeout = active().timeout_s
        super().__init__(environment)

    def wait_time(self) -> float:
        return active().wait_time()(self)


def add_arguments(parser: Any) -> None:
    """Add the knobs to Locust's parser (each with its environment variable)."""
    group = parser.add_argument_group("bench scenario", "knobs of the bench scenarios")
    for flag, variable, kind, default, text in ARGUMENTS:
        group.add_argument(flag, type=kind, default=default, env_var=variable, help=text)


def _activate(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        _Active.config = LoadConfig.from_values(vars(options))


# Once per process: `locust -f bench/locustfiles/` also loads this file as a locustfile
# named "scenario", beside the bench.locustfiles.scenario that the scenarios import.
if __name__ == "bench.locustfiles.scenario":
    events.init_command_line_parser.add_listener(add_arguments)  # type: ignore[no-untyped-call]
    events.test_start.add_listener(_activate)  # type: ignore[no-untyped-call]
