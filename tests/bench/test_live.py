"""The live view without a run: Locust's live documents into per-second rows, and the
view's page, snapshot and event stream in this process (a thread on loopback)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.locustfiles.totals import Bucket, LiveText, Totals
from bench.results.files import write_json_atomic
from bench.results.live import FINAL_AFTER_S, Ceiling, LiveSeries, finished_row
from bench.results.model import Telemetry
from bench.running.live import LiveView
from bench.running.observe import Watched
from tests.bench.factories import make_point
from tests.support import free_port

T0 = 1_800_000_000


def _document(now: float, users: int, per_second: dict[int, list[float]]) -> dict[str, Any]:
    """A live document as the plugin writes it: successes (ms) per second, one error at T0."""
    totals = Totals()
    for second, latencies in per_second.items():
        for value in latencies:
            totals.add_success("/complete", value, second + 0.5)
    totals.add_failure("/complete", "503", T0 + 0.2)
    return {"now": now, "users": users, "series": totals.to_dict()["series"]}


def test_rows_are_whole_seconds_with_their_ceiling() -> None:
    series = LiveSeries("/complete", Ceiling(latency_ms=200.0))
    series.update(_document(T0 + 3.4, 10, {T0: [200.0] * 40, T0 + 2: [210.0] * 50,
                                           T0 + 3: [1.0]}))  # fmt: skip
    rows = series.rows()
    # The current second (T0 + 3) is still filling: not shown; the empty second is.
    assert [r.at for r in rows] == [T0, T0 + 1, T0 + 2]
    assert [r.requests for r in rows] == [40, 0, 50]
    assert rows[0].errors == 1 and rows[1].p50_ms is None
    assert abs((rows[2].p99_ms or 0) - 210.0) < 2
    assert all(r.users == 10 and r.ceiling_rps == 50.0 for r in rows)  # 10 users / 0.2 s
    assert series.latest() == rows[-1]
    assert rows[0].to_dict()["rps"] == 40


def test_old_seconds_are_kept_and_recent_ones_read_again() -> None:
    series = LiveSeries("/complete", Ceiling(offered_rps=100.0))
    later = T0 + FINAL_AFTER_S + 3
    series.update(_document(T0 + 2.1, 5, {T0: [5.0] * 3}))
    # A later document whose window no longer holds T0 (the plugin keeps the last seconds).
    series.update(_document(later + 0.5, 20, {later - 1: [5.0] * 7}))
    rows = series.rows()
    assert rows[0].at == T0 and rows[-1].at == later - 1
    assert rows[-1].requests == 7 and rows[-1].ceiling_rps == 100.0


def test_finished_rows_show_the_model_ceiling_only_where_it_binds() -> None:
    sync = make_point(target="flask-gunicorn-sync", throughput=8.0, ceiling_rps=131.0,
                      model_ceiling_rps=7.9, efficiency=0.06)  # fmt: skip
    asgi = make_point(throughput=130.0, ceiling_rps=131.0, model_ceiling_rps=26000.0)
    assert finished_row(sync)["own"] == 7.9 and finished_row(asgi)["own"] is None
    assert finished_row(sync)["load"] == "50 users"


def _watched(live_file: Path, inside: Telemetry | None = None) -> Watched:
    return Watched(
        label="fastapi-uvicorn · complete · 10 users · rep 1",
        target="fastapi-uvicorn",
        scenario="complete",
        live_file=live_file,
        started=T0 - 3,
        windows=((T0, T0 + 5),),
        latency_ms=200.0,
        concurrency=3,
        inside=(lambda: inside) if inside is not None else None,
    )


def _read_events(url: str, into: list[str]) -> None:
    with httpx.stream("GET", url, timeout=10) as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            into.append(line)


def test_the_view_serves_its_page_snapshot_and_stream(tmp_path: Path) -> None:
    live_file = tmp_path / "live.json"
    write_json_atomic(live_file, _document(T0 + 2.5, 10, {T0: [200.0] * 45, T0 + 1: [201.0]}))
    view = LiveView(free_port(), "bench run test")
    url = view.start()
    lines: list[str] = []
    try:
        view.section("Demo wsgi-vs-asgi", "A question?")
        view.started(_watched(live_file))
        view.tick()
        state = httpx.get(url + "state", timeout=5).json()
        assert state["status"] == "measuring" and state["section"]["text"] == "A question?"
        assert [s["rps"] for s in state["point"]["seconds"]] == [45, 1]
        assert state["point"]["own_ceiling"] == 15.0  # 3 held at once / 0.2 s
        page = httpx.get(url, timeout=5).text
        # Self-contained, and drawn at once: the latest snapshot is inside the page.
        assert "http://" not in page and "https://" not in page and "<script src" not in page
        assert '"rps":45' in page and 'new EventSource("/events")' in page
        reader = threading.Thread(target=_read_events, args=(url + "events", lines))
        reader.start()
        deadline = time.monotonic() + 5
        while view.streams == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        view.finished(make_point(throughput=45.0))
        view.tick()
    finally:
        view.close()
    reader.join(timeout=10)
    assert not reader.is_alive()  # the stream ended with the run
    data = [json.loads(line[6:]) for line in lines if line.startswith('data: {"title')]
    assert data and data[-1]["status"] == "done" and data[-1]["measured"] == 1
    assert [line for line in lines if line][-2:] == ["event: done", 'data: {"measured": 1}']


def test_the_servers_own_series_come_beside_the_clients(tmp_path: Path) -> None:
    live_file = tmp_path / "live.json"
    write_json_atomic(live_file, _document(T0 + 2.5, 10, {T0: [200.0] * 45}))
    found = Telemetry(T0 + 1, 3, 0, in_progress=(9.0, 10.0), upstream_in_progress=(9.0, 10.0),
                      loop_lag_ms=(1.5, 120.0), hub_lag_ms=(None, None),
                      threadpool_busy=(None, None))  # fmt: skip
    view = LiveView(free_port(), "bench run test")
    url = view.start()
    try:
        view.started(_watched(live_file, found))
        view.tick()
        inside = httpx.get(url + "state", timeout=5).json()["point"]["inside"]
        view.started(_watched(live_file))
        view.tick()
        without = httpx.get(url + "state", timeout=5).json()["point"]["inside"]
    finally:
        view.close()
    # Only the series the server has (a uvicorn worker: no threadpool in use, no hub).
    assert inside == {
        "start": T0 + 1,
        "held": {"requests in progress": [9.0, 10.0], "upstream calls": [9.0, 10.0]},
        "lag_ms": {"event-loop lag p99": [1.5, 120.0]},
    }
    assert without is None  # not instrumented: nothing to draw


def test_the_live_file_holds_the_recent_seconds_whole() -> None:
    totals = Totals()
    for second in range(100, 110):
        totals.add_success("/complete", 100.0 + second, when=second + 0.5)
    live = json.loads(LiveText().text(totals, 7, 109.2, seconds=3))
    # The buckets of seconds 106 to 109, and nothing merged beside them.
    assert set(live) == {"now", "users", "series"} and live["users"] == 7
    assert sorted(live["series"]) == ["106", "107", "108", "109"]
    window = Totals.from_dict(live).between(106, 108)
    assert window.requests["/complete"].count == 2


def test_the_live_text_keeps_settled_seconds_and_reads_as_the_document() -> None:
    totals = Totals()
    for second in range(100, 110):
        totals.add_success("/complete", 100.0 + second, when=second + 0.5)
    live = LiveText()
    first = live.text(totals, 7, 109.2, seconds=3)
    buckets = {str(s): totals.buckets[s].to_dict() for s in range(106, 110)}
    assert json.loads(first) == {"now": 109.2, "users": 7, "series": buckets}
    # A second still open (109, 108) is written again with what arrived since; one that
    # ended two seconds ago (107) takes nothing more, and its text is kept, not rebuilt.
    totals.add_success("/complete", 5.0, when=108.9)
    totals.add_success("/complete", 5.0, when=109.9)
    totals.buckets[107] = Bucket()  # were it rebuilt, 107 would read empty
    again = json.loads(live.text(totals, 8, 109.9, seconds=3))
    counts = {s: Totals.from_dict({"series": {s: b}}).between().requests["/complete"].count
              for s, b in again["series"].items()}  # fmt: skip
    assert counts == {"106": 1, "107": 1, "108": 2, "109": 2} and again["users"] == 8
    # A master's buckets (merged from workers' late reports) are never kept.
    fresh = LiveText(keep=False)
    fresh.text(totals, 8, 109.9, seconds=3)
    totals.buckets[106] = Bucket()
    assert (
        json.loads(fresh.text(totals, 8, 109.9, seconds=3))["series"]["106"] == Bucket().to_dict()
    )
    # Seconds that leave the window leave the cache.
    later = json.loads(live.text(totals, 8, 112.0, seconds=3))
    assert sorted(later["series"]) == ["109"]
