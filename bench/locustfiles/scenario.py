"""What every scenario shares inside Locust: the knobs as custom arguments, the user base.

The knobs (bench.locustfiles.knobs) are Locust's own custom arguments
(`events.init_command_line_parser`): they appear in Locust's web UI, a master passes them
to its workers, and each also reads an environment variable as its default. The knobs in
force are read when a test starts (on a worker: after its master's spawn message has
brought them), and the users read them from there.

Closed loop, each user sends its next request when its last one answered (after the
think time, or paced). Open loop (`--bench-arrivals` and `--bench-rate`), the first user
of each Locust process becomes its dispatcher: it sends the process's share of the
arrivals (bench.locustfiles.arrivals) at their intended times, each request in a
greenlet of its own over one pool of keep-alive connections, whether or not earlier
ones have answered; an arrival that finds `--bench-max-outstanding` requests in flight
is dropped and counted. Further users of that process stay idle: in open loop the rate,
not the users, sets the load (one user per process is enough).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import gevent
from gevent.pool import Group
from locust import FastHttpUser, events, task
from locust.env import Environment

from bench.locustfiles import plugin
from bench.locustfiles.knobs import ARGUMENTS, LoadConfig, body_failure

__all__ = ["ScenarioUser", "active", "body_failure"]

logger = logging.getLogger(__name__)

IDLE_S = 3600.0
"""An idle user's sleep (open loop: only one user per process sends)."""

LOOKAHEAD_S = 0.05
"""Open loop: how far ahead of its intended time a request's greenlet is planned."""

RETARGET_CHECK_S = 0.05
"""Open loop: the longest the dispatcher sleeps before it looks for a new rate (the
control file is read as often)."""


class _Active:
    """The knobs in force in this process, its open-loop dispatcher (if any), and when the
    arrival rate last changed (bench.locustfiles.control)."""

    config = LoadConfig.from_env()
    dispatcher: object | None = None
    epoch = 0
    since = 0.0


def retarget(rate: float, since: float) -> None:
    """Open loop: arrivals at `rate` from `since` on (a new schedule of the same kind)."""
    arrivals = _Active.config.arrivals
    if arrivals is None:
        raise ValueError("a rate changes open-loop arrivals: this test runs closed loop")
    _Active.config = replace(_Active.config, arrivals=replace(arrivals, rate=rate))
    _Active.since = since
    _Active.epoch += 1


def active() -> LoadConfig:
    """The knobs in force (the environment's until a test starts with its arguments)."""
    return _Active.config


class ScenarioUser(FastHttpUser):
    """A user of any scenario: its pacing and timeouts follow the knobs in force.

    A scenario implements `send(context)`: one request, whose Locust event carries
    `context` (open loop: the intended send time).
    """

    abstract = True

    def __init__(self, environment: Environment) -> None:
        # FastHttpUser builds its client from these in its own __init__.
        config = active()
        self.network_timeout = self.connection_timeout = config.timeout_s
        if config.arrivals is not None:
            # One connection per request in flight: the pool never makes a request wait.
            self.concurrency = config.max_outstanding
        super().__init__(environment)
        self._requests = Group()
        self._in_flight = 0

    def wait_time(self) -> float:
        return active().wait_time()(self)

    scenario = ""  # which objectives apply to its requests (bench.locustfiles.slo)

    def send(self, context: dict[str, Any]) -> None:
        """Send one request of the scenario; `context` goes with its Locust event."""
        raise NotImplementedError

    def context(self, **extra: Any) -> dict[str, Any]:
        """A new request's context: its ID (the X-Request-ID it sends) and scenario."""
        return {plugin.REQUEST_ID: plugin.next_request_id(), plugin.SCENARIO: self.scenario,
                **extra}  # fmt: skip

    @task
    def turn(self) -> None:
        """Closed loop: one request. Open loop: the dispatcher's whole schedule."""
        if active().arrivals is None:
            self.send(self.context())
        elif _Active.dispatcher in (None, self):
            _Active.dispatcher = self
            self._dispatch()
        else:
            gevent.sleep(IDLE_S)

    def on_stop(self) -> None:
        self._requests.kill(block=False)
        if _Active.dispatcher is self:
            _Active.dispatcher = None

    def _dispatch(self) -> None:
        """Send this process's arrivals at their intended times until the test stops."""
        config = active()
        share = plugin.share()
        if config.arrivals is None or share is None:
            gevent.sleep(IDLE_S)
            return
        index, count, start = share
        epoch, times = _Active.epoch, config.arrivals.times(start, index, count)
        while True:
            if _Active.epoch != epoch:  # the rate changed: a new schedule from then on
                arrivals = active().arrivals
                assert arrivals is not None
                epoch, times = _Active.epoch, arrivals.times(_Active.since, index, count)
            intended = next(times)
            if not self._wait_for(intended, epoch):
                continue  # planned at the old rate: the new schedule replaces it
            request = gevent.Greenlet(self._arrival, intended)
            self._requests.add(request)
            request.start_later(max(intended - time.time(), 0.0))

    @staticmethod
    def _wait_for(intended: float, epoch: int) -> bool:
        """Sleep until a little before `intended`; False if the rate changed meanwhile.

        Each request's greenlet wakes at its own time (one timer, no hand-over from this
        loop), planned a little ahead so that this loop is never the one late. The sleep
        is cut into slices so that a new rate takes over at once: one sleep to the next
        arrival at 1 req/s lasted seconds, and the new rate's schedule, begun when it was
        set, then sent every arrival it had missed at once (443 req/s at an offered 290,
        p99 2.4 s)."""
        while _Active.epoch == epoch:
            ahead = intended - LOOKAHEAD_S - time.time()
            if ahead <= 0:
                return True
            gevent.sleep(min(ahead, RETARGET_CHECK_S))
        return False

    def _arrival(self, intended: float) -> None:
        if self._in_flight >= active().max_outstanding:
            plugin.record_dropped(at=intended)
            return
        sent = time.time()
        self._in_flight += 1
        plugin.record_lateness((sent - intended) * 1000.0, at=sent)
        plugin.record_outstanding(self._in_flight, at=sent)
        try:
            self.send(self.context(**{plugin.INTENDED_AT: intended}))
        except Exception:  # a scenario's bug must not end the dispatch
            logger.exception("an open-loop request failed outside its own checks")
        finally:
            self._in_flight -= 1


def add_arguments(parser: Any) -> None:
    """Add the knobs to Locust's parser (each with its environment variable)."""
    group = parser.add_argument_group("bench scenario", "knobs of the bench scenarios")
    for flag, variable, kind, default, text in ARGUMENTS:
        group.add_argument(flag, type=kind, default=default, env_var=variable, help=text)


def _activate(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        _Active.config = LoadConfig.from_values(vars(options))
    plugin.configure(_Active.config.slos)
    _Active.dispatcher = None
    _Active.epoch, _Active.since = 0, 0.0


# Once per process: `locust -f bench/locustfiles/` also loads this file as a locustfile
# named "scenario", beside the bench.locustfiles.scenario that the scenarios import.
if __name__ == "bench.locustfiles.scenario":
    events.init_command_line_parser.add_listener(add_arguments)  # type: ignore[no-untyped-call]
    events.test_start.add_listener(_activate)  # type: ignore[no-untyped-call]
