"""Per-request service-level objectives, judged as vLLM's `--goodput` counts them (pure).

A request meets `ttft` when its own first token came within it, `itl` when its longest
gap between two tokens did, `tpot` when its mean time per output token did, and `e2e`
when the whole answer did; a failed request meets none. Goodput is the rate of requests
that met every objective that applies to their scenario (docs/metrics.md):

| scenario | objectives that apply |
| --- | --- |
| hello, complete | e2e |
| stream | ttft, itl, tpot, e2e |
| disconnect | ttft |

Objectives travel as one text, `ttft=600,itl=100` (milliseconds), from `bench` to the
locustfiles (`--bench-slo`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

NAMES = ("ttft", "itl", "tpot", "e2e")
APPLIES: dict[str, tuple[str, ...]] = {
    "hello": ("e2e",),
    "complete": ("e2e",),
    "stream": ("ttft", "itl", "tpot", "e2e"),
    "disconnect": ("ttft",),
}


@dataclass(frozen=True)
class RequestFigures:
    """What one request took, in ms (None where it has no such figure)."""

    e2e_ms: float
    ttft_ms: float | None = None
    itl_max_ms: float | None = None  # its longest gap between two tokens
    tpot_ms: float | None = None


@dataclass(frozen=True)
class Slos:
    """Thresholds in milliseconds; None: not an objective."""

    ttft: float | None = None
    itl: float | None = None
    tpot: float | None = None
    e2e: float | None = None

    @classmethod
    def parse(cls, text: str) -> Slos:
        """Read `ttft=600,itl=100` (any subset); ValueError says what is wrong in one line."""
        values: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, raw = part.partition("=")
            name = name.strip().lower()
            if name not in NAMES:
                raise ValueError(f"unknown SLO {name!r}; known: {', '.join(NAMES)}")
            try:
                value = float(raw) if sep else float("nan")
            except ValueError:
                value = float("nan")
            if not value > 0 or value == float("inf"):
                raise ValueError(f"SLO {name} needs a positive number of ms, e.g. {name}=500")
            values[name] = value
        if not values:
            raise ValueError("give at least one SLO, e.g. ttft=500,itl=100")
        return cls(**values)

    def text(self) -> str:
        """The form `parse` reads."""
        return ",".join(f"{n}={v:g}" for n, v in self.items())

    def items(self) -> list[tuple[str, float]]:
        """The objectives set, in NAMES order."""
        return [(f.name, v) for f in fields(self) if (v := getattr(self, f.name)) is not None]

    def applying(self, scenario: str) -> list[str]:
        """The objectives set that apply to a scenario's requests."""
        return [name for name, _ in self.items() if name in APPLIES.get(scenario, ())]

    def judge(self, scenario: str, figures: RequestFigures | None) -> dict[str, bool]:
        """Each applying objective: met or not (a failed request, `None`, meets none)."""
        names = self.applying(scenario)
        if figures is None:
            return dict.fromkeys(names, False)
        measured = {
            "ttft": figures.ttft_ms,
            "itl": figures.itl_max_ms,
            "tpot": figures.tpot_ms,
            "e2e": figures.e2e_ms,
        }
        met = {}
        for name in names:
            value, limit = measured[name], getattr(self, name)
            # A stream of one token has no gap: nothing of its ITL or TPOT can fail.
            empty = value is None and name in ("itl", "tpot") and figures.ttft_ms is not None
            met[name] = empty or (value is not None and value <= limit)
        return met
