"""Check a running target against the wire contract before measuring it.

As in TechEmpower's verification: a target that answers wrongly is reported and
skipped, never measured (docs/contract.md, the services' contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bench.locustfiles.sse import Event, parse_events
from mock_llm import tokens

HELLO = {
    "fastapi": "Hello from FastAPI",
    "flask": "Hello from Flask",
    "drf": "Hello from DRF",
    "none": "Hello from baseline",
}
SERVICE = {"fastapi": "fastapi", "flask": "flask", "drf": "drf", "none": "baseline"}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _expect(failures: list[str], ok: bool, text: str) -> None:
    if not ok:
        failures.append(text)


def _data(event: Event) -> Any:
    try:
        return event.json()
    except ValueError:
        return event.data


def _check_basics(client: httpx.Client, framework: str, failures: list[str]) -> None:
    root = client.get("/")
    _expect(
        failures,
        root.status_code == 200 and _json(root) == {"status": "ok", "service": SERVICE[framework]},
        f"GET / answered {root.status_code} {root.text[:120]!r}",
    )
    health = client.get("/health")
    _expect(
        failures,
        _json(health) == {"status": "healthy"},
        f"GET /health answered {health.status_code} {health.text[:120]!r}",
    )
    hello = client.get("/hello")
    _expect(
        failures,
        hello.status_code == 200 and _json(hello) == {"message": HELLO[framework]},
        f"GET /hello answered {hello.status_code} {hello.text[:120]!r}",
    )


@dataclass(frozen=True)
class Expected:
    """What an answer to a 3-token prompt must hold: the mock's exact words, or any text."""

    text: str | None  # None: an upstream whose answers are not known in advance
    deltas: int | None

    def answer(self, response: object) -> bool:
        if self.text is None:
            return isinstance(response, str)
        return response == self.text

    def stream(self, deltas: list[str]) -> bool:
        if self.text is None:
            return bool(deltas) and all(isinstance(d, str) for d in deltas)
        return "".join(deltas) == self.text and len(deltas) == self.deltas


def _check_complete(client: httpx.Client, expected: Expected, failures: list[str]) -> None:
    answer = client.post("/complete", json={"prompt": "verify", "max_tokens": 3})
    body = _json(answer)
    _expect(
        failures,
        answer.status_code == 200
        and isinstance(body, dict)
        and expected.answer(body.get("response"))
        and isinstance(body.get("tokens_used"), int),
        f"POST /complete answered {answer.status_code} {answer.text[:160]!r}",
    )
    invalid = client.post("/complete", json={"prompt": ""})
    detail = (_json(invalid) or {}).get("detail")
    _expect(
        failures,
        invalid.status_code == 422 and isinstance(detail, list),
        f"POST /complete with an empty prompt answered {invalid.status_code}, not 422",
    )


def _check_stream(client: httpx.Client, expected: Expected, failures: list[str]) -> None:
    answer = client.post("/complete/stream", json={"prompt": "verify", "max_tokens": 3})
    kind = answer.headers.get("content-type", "")
    events = [(event.name, _data(event)) for event in parse_events(answer.text)]
    deltas = [
        data["delta"]
        for name, data in events
        if name == "message" and isinstance(data, dict) and "delta" in data
    ]
    done = [data for name, data in events if name == "done"]
    _expect(
        failures,
        answer.status_code == 200
        and kind.startswith("text/event-stream")
        and expected.stream(deltas)
        and len(done) == 1
        and isinstance(done[0].get("tokens_used"), int),
        f"POST /complete/stream answered {answer.status_code} {kind} {answer.text[:200]!r}",
    )


def verify(
    base_url: str,
    framework: str,
    scenarios: tuple[str, ...],
    cap: int,
    *,
    exact: bool = True,
) -> list[str]:
    """Return what is wrong with the target (empty when it honours the contract).

    Args:
        cap: the mock's output-token cap (its answers to 3 tokens have min(3, cap)).
        exact: the upstream is the suite's mock, whose words are known in advance;
            otherwise only the contract's structure is checked.
    """
    failures: list[str] = []
    count = min(3, cap)
    expected = Expected(tokens.text(count), count) if exact else Expected(None, None)
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            _check_basics(client, framework, failures)
            if "complete" in scenarios:
                _check_complete(client, expected, failures)
            if "stream" in scenarios:
                _check_stream(client, expected, failures)
    except httpx.HTTPError as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    return failures
