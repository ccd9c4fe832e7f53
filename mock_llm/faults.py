"""The fault model in force, shared by every worker process and changeable while serving.

The runner sets it with `POST /faults` so that faults can begin and end inside a
measured window (`bench run --fault-window START:END`): the document gives the share of
requests to fail, the faults to draw from, and optionally the Unix times between which
it applies; outside them no fault is injected. `GET /faults` returns the model in force.

Like the counters (mock_llm.stats), the model lives in an anonymous shared mmap created
before the workers fork; one request writes it, every worker reads it per request. A
reader may see a half-written update for one request at worst, which only matters to
that request's draw.
"""

from __future__ import annotations

import math
import mmap
import random
import time
from collections.abc import Sequence

from mock_llm.config import FAULT_KINDS, parse_fault

MAX_CODES = 16
_PPM = 1_000_000
# [rate in parts per million, start ns, end ns (0: none), number of codes, codes...]
_CELLS = 4 + MAX_CODES
_KIND_CODES = {kind: -(i + 1) for i, kind in enumerate(FAULT_KINDS)}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}


class FaultError(ValueError):
    """A fault model that cannot be set; the message says what is wrong."""


def _encode(fault: str) -> int:
    return _KIND_CODES.get(fault) or int(fault)


def _decode(code: int) -> str:
    return _CODE_KINDS.get(code) or str(code)


class FaultModel:
    """The error rate, the faults it draws from and the time span it applies to."""

    def __init__(self, rate: float, codes: Sequence[str]) -> None:
        self._map = mmap.mmap(-1, _CELLS * 8)
        self._cells = memoryview(self._map).cast("q")
        self.set(rate, codes)

    def set(
        self,
        rate: float,
        codes: Sequence[str],
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        """Put a model in force (start/end: Unix seconds; None: from now, for ever)."""
        parsed = [_check_code(code) for code in codes]
        if not parsed and rate:
            raise FaultError("codes: give at least one fault, for example [429, 500]")
        if len(parsed) > MAX_CODES:
            raise FaultError(f"codes: at most {MAX_CODES} faults")
        if not (isinstance(rate, int | float) and 0.0 <= rate <= 1.0):
            raise FaultError(f"rate: {rate!r} is not a share between 0 and 1")
        if start is not None and end is not None and end <= start:
            raise FaultError("end must be after start")
        cells = self._cells
        cells[0] = 0  # no draws while the codes change
        cells[1] = round(start * 1e9) if start is not None else 0
        cells[2] = round(end * 1e9) if end is not None else 0
        for i, fault in enumerate(parsed):
            cells[4 + i] = _encode(fault)
        cells[3] = len(parsed)
        cells[0] = round(rate * _PPM)

    def draw(self, rng: random.Random, now: float | None = None) -> str | None:
        """Return the fault for one request, or None (it is answered normally)."""
        cells = self._cells
        ppm = cells[0]
        if not ppm:
            return None
        start, end = cells[1], cells[2]
        if start or end:
            ns = time.time_ns() if now is None else round(now * 1e9)
            if ns < start or (end and ns >= end):
                return None
        if rng.random() * _PPM >= ppm:
            return None
        n = cells[3]
        return _decode(cells[4 + rng.randrange(n)]) if n else None

    def document(self) -> dict[str, object]:
        """The model in force, as `GET /faults` and `/stats` show it."""
        cells = self._cells
        return {
            "rate": cells[0] / _PPM,
            "codes": [_decode(cells[4 + i]) for i in range(cells[3])],
            "start": cells[1] / 1e9 if cells[1] else None,
            "end": cells[2] / 1e9 if cells[2] else None,
        }


def _check_code(code: object) -> str:
    try:
        return parse_fault(str(code))
    except ValueError as exc:
        raise FaultError(f"codes: {exc}") from None


def parse_document(data: object) -> tuple[float, list[str], float | None, float | None]:
    """Read a `POST /faults` document: {"rate", "codes", "start"?, "end"?}."""
    if not isinstance(data, dict):
        raise FaultError('send a JSON object: {"rate": 0.1, "codes": [429, 500]}')
    rate = data.get("rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise FaultError("rate: a number between 0 and 1 is required")
    codes = data.get("codes", [])
    if isinstance(codes, str):
        codes = codes.split(",")
    if not isinstance(codes, list):
        raise FaultError("codes: a list of statuses and kinds, for example [429, 500, 'stall']")
    times: list[float | None] = []
    for key in ("start", "end"):
        value = data.get(key)
        if value is None:
            times.append(None)
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise FaultError(f"{key}: Unix seconds or null")
        times.append(float(value))
    return float(rate), [str(code) for code in codes], times[0], times[1]
