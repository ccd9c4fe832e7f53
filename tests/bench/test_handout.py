"""The handout of `bench demo all`, rendered from stored demo results (a real quick run's,
tests/bench/fixtures/demo-all-quick): pure, no servers."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.demos import catalog, handout
from bench.demos.claims import CLAIMS
from bench.demos.suite import order

FIXTURE = Path(__file__).parent / "fixtures" / "demo-all-quick"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("suite") / "demo-all"
    shutil.copytree(FIXTURE, folder)
    path = handout.write_handout(folder)
    assert path == folder / handout.HANDOUT_NAME
    return path.read_text()


def _sections(page: str) -> dict[str, str]:
    found = re.findall(r"<section id='([^']+)'>(.*?)</section>", page, flags=re.S)
    return dict(found)


def test_every_demo_in_teaching_order_then_the_claims(page: str) -> None:
    assert list(_sections(page)) == order()
    assert order() == [*catalog.names(), "claims"]


@pytest.mark.parametrize("name", catalog.names())
def test_each_demo_has_its_question_prediction_chart_table_lesson_mechanism(
    page: str, name: str
) -> None:
    section = _sections(page)[name]
    assert "<b>Question.</b>" in section and "Predict before reading on." in section
    svg = re.search(r"<svg\b.*?</svg>", section, flags=re.S)
    assert svg is not None
    ET.fromstring(svg.group(0))  # well-formed
    assert "<table class='data'>" in section and section.count("<tr>") >= 2
    assert "As predicted." in section or "Not as predicted." in section
    assert "What happened inside." in section
    for code in catalog.find(name).mechanism.code:
        assert f"<code>{code.path}</code>" in section
    assert "<b>Conditions.</b>" in section and "server cores [0]" in section


def test_the_lesson_is_drawn_from_the_stored_figures(page: str) -> None:
    wsgi = _sections(page)["wsgi-vs-asgi"]
    # The quick run measured 232.5 req/s for FastAPI and 15 for the sync workers.
    assert "served 232 req/s" in wsgi and "15.0 req/s" in wsgi


def test_the_claims_rows_with_verdicts_and_the_ones_no_benchmark_settles(page: str) -> None:
    section = _sections(page)["claims"]
    for claim in CLAIMS:
        assert claim.says in section
    verdicts = re.findall(r"<td class='verdict (\w+)'>(.*?)</td>", section)
    assert len(verdicts) == len(CLAIMS)
    assert ("open", "no benchmark settles it") in verdicts
    # The streams and the ramps came from the demos before the claims.
    assert "fastapi-uvicorn: 787 calls in flight" in section
    assert "drf-uvicorn: first token" in section
    assert "streaming-ttft" in section and "concurrency" in section


def test_the_page_is_self_contained_and_printable(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert "@media print" in page and "break-before:page" in page
    assert "wall time</dt><dd>5.9 min" in page and "locust 2.47.0" in page


def test_a_folder_without_demo_results_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no demo results"):
        handout.write_handout(tmp_path)
