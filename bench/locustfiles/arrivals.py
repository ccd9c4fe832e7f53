"""Open-loop arrivals: when each request is meant to be sent, fixed before it is sent.

Pure code (no gevent): the schedule of one generator process, as Unix times. Requests
arrive whether or not the server keeps up, as independent clients' requests do; a
request's response time counts from its intended send time, so a server (or a
generator) that falls behind shows in the latency instead of hiding in a slower pace
(coordinated omission: docs/methodology.md, "Closed loop and open loop").

The total rate R is split over the P generator processes; process i of P draws its own
arrivals at R / P from its own seeded stream:

- `poisson`: exponential gaps (independent clients); the union of P Poisson streams is a
  Poisson stream at R, exactly;
- `constant`: a gap of P / R, process i offset by i / R, so that the union is one request
  every 1 / R, exactly;
- `gamma`: gamma gaps of shape `burstiness` and mean P / R (vLLM's `--burstiness`):
  below 1 burstier than Poisson, above 1 more regular, 1 is Poisson. The union of P
  gamma streams has the same mean rate, and is burstier than each one is (it tends to
  Poisson as P grows): with several processes the shape holds per process.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["poisson", "constant", "gamma"]
KINDS: tuple[Kind, ...] = ("poisson", "constant", "gamma")


@dataclass(frozen=True)
class Arrivals:
    """An open-loop arrival process over every generator process."""

    kind: Kind
    rate: float  # requests per second, every process together
    burstiness: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"arrivals must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.rate > 0:
            raise ValueError(f"the arrival rate must be > 0 req/s, got {self.rate:g}")
        if not self.burstiness > 0:
            raise ValueError(f"burstiness must be > 0, got {self.burstiness:g}")

    def times(self, start: float, index: int = 0, count: int = 1) -> Iterator[float]:
        """Process `index` of `count`: its intended send times from `start` (Unix s)."""
        if not 0 <= index < count:
            raise ValueError(f"process {index} of {count}")
        share = self.rate / count
        rng = random.Random(f"{self.seed}/{index}/{count}")  # its own stream, every run
        at = start
        if self.kind == "constant":
            at += index / self.rate
            yield at
        while True:
            at += self._gap(rng, share)
            yield at

    def _gap(self, rng: random.Random, share: float) -> float:
        if self.kind == "poisson":
            return rng.expovariate(share)
        if self.kind == "constant":
            return 1.0 / share
        return rng.gammavariate(self.burstiness, 1.0 / (share * self.burstiness))
