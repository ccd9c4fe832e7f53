"""One naming rule (bench.results.naming): a row names what varies within its group."""

from __future__ import annotations

from typing import Any

from bench.reports import compare, report
from bench.results.comparison import Named
from bench.results.comparison import compare as compare_runs
from bench.results.model import Point, by_level
from bench.results.naming import label, labels
from bench.results.significance import Settings
from tests.bench.factories import make_point, make_run, point_dict

CLIENTS = ("httpx", "aiohttp", "openai")


def _client_pool(target: str = "fastapi-uvicorn", **overrides: Any) -> list[dict[str, Any]]:
    """The same target once per upstream client, as `--clients` measures it."""
    return [
        point_dict(target=target, client=client, throughput=100.0 + 10 * i, **overrides)
        for i, client in enumerate(CLIENTS)
    ]


def test_a_target_run_once_per_client_is_named_by_its_client() -> None:
    points = [Point.from_dict(p) for p in _client_pool()]
    assert labels(points) == [
        "fastapi-uvicorn (httpx)",
        "fastapi-uvicorn (aiohttp)",
        "fastapi-uvicorn (openai)",
    ]
    # The levels keep them apart: one level per client, not three repetitions of one.
    assert len(by_level(points)) == 3
    assert {label(level, by_level(points)) for level in by_level(points)} == {
        "fastapi-uvicorn (httpx)",
        "fastapi-uvicorn (aiohttp)",
        "fastapi-uvicorn (openai)",
    }


def test_a_client_in_the_spec_is_said_once_and_one_client_is_no_difference() -> None:
    spec = [make_point(target=f"fastapi-uvicorn[{c}]", client=c) for c in ("httpx", "aiohttp")]
    assert labels(spec) == ["fastapi-uvicorn (httpx)", "fastapi-uvicorn (aiohttp)"]
    alone = make_point(target="fastapi-uvicorn[httpx]", client="httpx")
    assert label(alone, [alone]) == "fastapi-uvicorn[httpx]"
    mixed = [make_point(), make_point(target="flask-gunicorn-gthread", client="httpx")]
    assert labels(mixed) == ["fastapi-uvicorn (default client)", "flask-gunicorn-gthread (httpx)"]


def test_package_variants_keep_their_pins_as_today() -> None:
    variants = [make_point(target="drf-uvicorn"), make_point(target="drf-uvicorn@django==5.1.*")]
    assert labels(variants) == ["drf-uvicorn", "drf-uvicorn@django==5.1.*"]
    both = [*variants, make_point(target="drf-uvicorn@django==5.1.*", client="httpx")]
    assert labels(both)[2] == "drf-uvicorn@django==5.1.* (httpx)"


def test_the_report_names_each_client_in_tables_charts_and_headline() -> None:
    run = make_run(_client_pool())
    built = report.build(run)
    md, html = report.to_markdown(built), report.to_html(built)
    for client in CLIENTS:
        assert f"| fastapi-uvicorn ({client}) | 50 users |" in md  # the scenario table
        assert f"| fastapi-uvicorn ({client}) | complete |" in md  # every point
        assert f"fastapi-uvicorn ({client})</text>" in html  # a chart's label
    assert "fastapi-uvicorn (openai) leads with 120 req/s" in md


def test_compare_names_each_client() -> None:
    reference = Named("ref", make_run(_client_pool()))
    changed = Named("new", make_run(_client_pool(), "new"))
    found = compare_runs(reference, changed, Settings())
    assert len({row.key for row in found.rows}) == 3
    text = compare.render_markdown([found], Settings())
    assert "| fastapi-uvicorn (aiohttp) / complete / 50 users |" in text
