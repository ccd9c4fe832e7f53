"""`bench report` and its SVG charts, on fixture results: no servers, no network."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main as bench_main
from bench.reports import charts, report
from bench.results.files import write_json_atomic
from bench.results.store import RESULTS_NAME
from tests.support import REPO_ROOT, require_tool

FIXTURES = Path(__file__).parent / "fixtures"
QUICK = FIXTURES / "quick-results.json"  # quick preset: 4 targets x 3 scenarios, one warning
SMALL = FIXTURES / "small-results.json"  # one invalid stream point, a point with two warnings


def _doc(path: Path = QUICK) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _write(tmp_path: Path, document: dict[str, Any], name: str = "run") -> Path:
    folder = tmp_path / name
    write_json_atomic(folder / RESULTS_NAME, document)
    return folder


def _report(tmp_path: Path, document: dict[str, Any]) -> tuple[str, str]:
    md_path, html_path = report.write_report(_write(tmp_path, document))
    return md_path.read_text(), html_path.read_text()


def _points(document: dict[str, Any], target: str, scenario: str) -> list[dict[str, Any]]:
    return [p for p in document["points"] if p["target"] == target and p["scenario"] == scenario]


def _md_row(md: str, *words: str) -> str:
    """Return the one Markdown table row that contains every word."""
    rows = [
        line for line in md.splitlines() if line.startswith("|") and all(w in line for w in words)
    ]
    assert len(rows) == 1, rows
    return rows[0]


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("|").split(" | ")]


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


# Content


def test_every_target_and_scenario_appears_in_both_files(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc())
    for text in (md, html):
        for target in ("fastapi-uvicorn", "flask-gunicorn-gthread", "drf-gunicorn-gthread",
                       "baseline-uvicorn"):  # fmt: skip
            assert target in text
        for scenario in ("hello", "complete", "stream"):
            assert f"Scenario: {scenario}" in text
    # Every point has its row in the every-point table, none dropped.
    assert md.count("| 1 | ") >= 13
    assert html.count("<tr class") + html.count("<tr><td") >= 13 + 10


def test_headline_answers_from_the_quick_run(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc())
    assert report.QUESTION in md and report.QUESTION in html
    answer = md.split(report.QUESTION, 1)[1].split("## Scenario", 1)[0]
    assert "fastapi-uvicorn leads hello and complete" in answer
    assert "stream has no clear lead" in answer
    assert "1.61x the runner-up flask-gunicorn-gthread (2,572 req/s)" in answer
    assert "1.30x" in answer and "efficiency 97 % against 74 %" in answer
    assert "1 of 13 points carries warnings" in answer
    # The conditions: cores, CPU model, mock, window, repetitions, date and commit.
    for fact in ("server cores [0]", "AMD EPYC", "ttft 200 ms", "itl 20 ms", "380 ms",
                 "window 5.0 s after 2.0 s warm-up", "1 repetition", "2026-11-26T02:30:17",
                 "1a64633e3b0d"):  # fmt: skip
        assert fact in answer


def test_headline_names_whoever_leads_in_the_data(tmp_path: Path) -> None:
    document = _doc()
    for point in _points(document, "fastapi-uvicorn", "complete"):
        point["throughput_rps"] = 300.0  # below flask's 391 req/s at 200 users
        point["efficiency"] = 300.0 / point["ceiling_rps"]
    md, _ = _report(tmp_path, document)
    sentence = next(line for line in md.splitlines() if line.startswith("- complete"))
    # These points keep no per-second series: no interval, and the sentence says so.
    assert sentence.startswith(
        "- complete at 200 users: flask-gunicorn-gthread leads with 391 req/s, "
        "1.30x the runner-up fastapi-uvicorn (300 req/s) (no 95 % interval for "
        "flask-gunicorn-gthread and fastapi-uvicorn: the ratio alone decides); "
        "efficiency 74 % against 57 %"
    )
    assert "fastapi-uvicorn leads hello; flask-gunicorn-gthread leads complete;" in md


def test_headline_ranks_only_valid_points_and_says_so(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc(SMALL))
    assert "stream at 20 users: no valid point to rank (fastapi-uvicorn: only invalid" in md
    assert "fastapi-uvicorn is the only target ranked in hello and complete; stream: no valid" in md
    assert "2 of 4 points carry warnings (1 invalid)" in md
    assert "2 of 4 points carry warnings (1 invalid)" in html


def test_warnings_sit_next_to_the_number_they_concern(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc(SMALL))
    row = _cells(_md_row(md, "baseline-uvicorn", "| hello |"))
    headers = _cells(_md_row(md, "| target | scenario |"))
    cell = dict(zip(headers, row, strict=True))
    assert cell["req/s"] == "7,370 ⚠1"  # the generator's CPU: throughput is a lower bound
    assert cell["p50 ms"].endswith("⚠2")  # Little's law concerns the latency
    assert cell["warnings"].startswith("⚠1 load generator at 94 % CPU")
    assert "⚠2 Little's law does not hold" in cell["warnings"]
    assert cell["status"] == "⚠ warnings"
    html_row = next(r for r in html.split("<tr") if "7,370" in r and "Little" in r)
    assert html_row.startswith(' class="warned"')
    assert '7,370 <span class="flag">⚠1</span>' in html_row


def test_invalid_points_are_marked_never_dropped(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc(SMALL))
    row = _md_row(md, "fastapi-uvicorn", "| stream |")
    assert "✗ INVALID" in row
    assert "151 / 160 ⚠1" in row  # the upstream count that broke the rule
    assert "53.3" in row  # its figures are still shown
    html_rows = [r for r in html.split("<tr") if "151 / 160" in r]
    assert len(html_rows) == 1 and html_rows[0].startswith(' class="invalid"')


def test_failed_points_and_skipped_targets_are_listed(tmp_path: Path) -> None:
    document = _doc(SMALL)
    failed = copy.deepcopy(_points(document, "fastapi-uvicorn", "complete")[0])
    failed.update(repetition=2, status="failed", valid=False, throughput_rps=0.0,
                  latency_ms=None, requests=0, failure="the target died (exit -9)\nlog tail",
                  warnings=["INVALID: failed: the target died (exit -9)"])  # fmt: skip
    document["points"].append(failed)
    document["run"]["skipped_targets"] = [
        {"target": "drf-uvicorn", "reason": "failed verification: /hello answered 500\nmore"}
    ]
    md, html = _report(tmp_path, document)
    for text in (md, html):
        assert "fastapi-uvicorn complete at 20 users, repetition 2 failed" in text
        assert "the target died (exit -9)" in text
        assert "drf-uvicorn skipped" in text and "/hello answered 500" in text
        assert "1 target skipped" in text
    assert "✗ failed" in _md_row(md, "| fastapi-uvicorn | complete | 20 users | 2 |")
    # The failed repetition is listed, but not in the median: 53.3 req/s survives.
    assert "| 53.3 |" in _md_row(md, "| fastapi-uvicorn | 20 users | 2 |")


def test_repetitions_plot_the_median_and_tabulate_the_range(tmp_path: Path) -> None:
    document = _doc()
    base = _points(document, "fastapi-uvicorn", "complete")
    for repetition, factor in ((2, 0.9), (3, 1.2)):
        for point in base:
            extra = copy.deepcopy(point)
            extra.update(repetition=repetition, throughput_rps=point["throughput_rps"] * factor)
            document["points"].append(extra)
    md, html = _report(tmp_path, document)
    row = _md_row(md, "| fastapi-uvicorn | 200 users | 3 |")
    assert "| 509 (458\N{EN DASH}610) |" in row  # median, then min-max
    throughput = next(s for s in _svgs(html) if "complete: throughput vs load" in _title(s))
    assert throughput.findall(".//*[@class='spread']")  # min-max whiskers


def test_single_load_gives_bars_and_several_loads_give_lines(tmp_path: Path) -> None:
    _, html = _report(tmp_path, _doc())
    titles = {_title(svg): svg.get("class") for svg in _svgs(html)}
    assert titles["hello: throughput at 50 users (median of repetitions)"] == "chart bar"
    assert titles["stream: stream timing at 50 users (median of repetitions)"] == "chart bar"
    assert titles["complete: throughput vs load"] == "chart line"
    assert titles["complete: efficiency vs the Little's-law ceiling vs load"] == "chart line"
    assert {"complete: p50 vs load", "complete: p99 vs load"} <= set(titles)
    assert any("server CPU" in t for t in titles) and any("RSS" in t for t in titles)


def test_throughput_chart_draws_the_littles_law_ceiling(tmp_path: Path) -> None:
    _, html = _report(tmp_path, _doc())
    chart = next(s for s in _svgs(html) if _title(s) == "complete: throughput vs load")
    assert chart.findall(".//*[@class='ceiling']/*[@stroke-dasharray]")
    assert "Little's-law ceiling" in _legend(chart)


def test_html_is_self_contained_and_markdown_has_no_charts(tmp_path: Path) -> None:
    md, html = _report(tmp_path, _doc())
    assert "http://" not in html and "https://" not in html
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert tag not in html
    assert "<style>" in html and html.count("<svg") >= 10
    assert "<svg" not in md
    for term, _ in report.DEFINITIONS:
        assert term in md and term in unescape(html)
    assert "more than 1% of the requests failed" in md  # thresholds from the analysis
    assert "starlette" in md and "1.10.0" in md  # every package version


# The command: exit codes and one-line messages


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = bench_main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_main_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _write(tmp_path, _doc())
    code, out, err = _main(capsys, str(folder))
    assert code == 0 and err == ""
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()
    assert "report.md" in out and "report.html" in out


def _corrupt_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = QUICK.read_text()
    cases = {
        "missing": ("", "no such results file"),
        "truncated": (text[: len(text) // 2], "not valid JSON"),
        "corrupt": ("\x00\x01garbage{", "not valid JSON"),
        "not-a-results-file": ('{"hello": 1}', "no integer schema_version"),
        "unknown-version": (text.replace('"schema_version": 1', '"schema_version": 99'), "99"),
        "empty-run": (json.dumps({**_doc(), "points": []}), "no points"),
    }
    found = {}
    for name, (content, expected) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        if content:
            (folder / "results.json").write_text(content)
        found[name] = (folder, expected)
    return found


def test_unusable_results_give_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (folder, expected) in _corrupt_cases(tmp_path).items():
        code, out, err = _main(capsys, str(folder))
        assert code == 2, name
        assert out == "", name
        assert err.count("\n") == 1 and err.startswith("bench report: "), (name, err)
        assert expected in err, (name, err)
        assert not (folder / "report.html").exists()


@pytest.mark.process
def test_python_m_bench_report_exits_2_on_a_truncated_file(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(QUICK.read_text()[:500])
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not valid JSON" in done.stderr


def test_a_results_file_path_works_like_its_folder(tmp_path: Path) -> None:
    folder = _write(tmp_path, _doc(SMALL))
    assert bench_main(["report", str(folder / "results.json")]) == 0
    assert (folder / "report.html").is_file()


# Charts


def _title(svg: ET.Element) -> str:
    title = svg.find("title")
    assert title is not None and title.text
    return title.text


def _legend(svg: ET.Element) -> list[str]:
    return ["".join(item.itertext()) for item in svg.iter() if item.get("class") == "legend-item"]


def _tick_labels(svg: ET.Element, anchor: str) -> list[str]:
    axes = next(g for g in svg.iter() if g.get("class") == "axes")
    texts = [t for t in axes.iter() if t.tag.endswith("text")]
    return [t.text or "" for t in texts if t.get("text-anchor") == anchor]


SERIES = {
    "fastapi-uvicorn": [(10.0, 50.0), (100.0, 480.0), (500.0, 2300.0)],
    "flask-gunicorn-sync": [(10.0, 4.9), (100.0, 4.9), (500.0, 4.8)],
}


def test_line_chart_is_xml_with_a_legend_of_every_series() -> None:
    svg = ET.fromstring(
        charts.line_chart(
            SERIES,
            title="complete: throughput",
            x_label="users",
            y_label="throughput (req/s)",
            y_unit="req/s",
            ceiling={"Little's law": [(10.0, 50.0), (500.0, 2500.0)]},
            invalid={("flask-gunicorn-sync", 500.0)},
            warned={("fastapi-uvicorn", 100.0)},
        )
    )
    assert svg.tag == f"{{{charts.SVG_NS}}}svg"
    legend = _legend(svg)
    for label in (*SERIES, "Little's law", "invalid point", "point with warnings"):
        assert label in legend
    ns = {"s": charts.SVG_NS}
    assert len(svg.findall(".//s:polyline", ns)) == 3  # two series and the ceiling
    assert len(svg.findall(".//*[@class='invalid']", ns)) == 1
    assert len(svg.findall(".//*[@class='warned']", ns)) == 2  # on the point and in the legend
    assert all(label.endswith(" req/s") for label in _tick_labels(svg, "end"))


def test_series_get_distinct_colours_dashes_and_markers() -> None:
    styles = {charts.Style.at(i) for i in range(6)}
    assert len({s.color for s in styles}) == 6 and len({s.dash for s in styles}) == 6
    assert len({s.shape for s in styles}) == 6


def test_log_axis_is_chosen_when_the_load_spans_decades() -> None:
    svg = ET.fromstring(
        charts.line_chart(SERIES, title="t", x_label="users", y_label="y", log_x="auto")
    )
    assert _tick_labels(svg, "middle") == ["10", "20", "50", "100", "200", "500"]
    narrow = {"a": [(50.0, 1.0), (200.0, 2.0)]}
    linear = ET.fromstring(
        charts.line_chart(narrow, title="t", x_label="users", y_label="y", log_x="auto")
    )
    assert _tick_labels(linear, "middle") == ["50", "100", "150", "200"]
    assert charts.wants_log([1, 20], "auto") and not charts.wants_log([1, 19], "auto")
    assert not charts.wants_log([0, 100], True)  # zero has no place on a log axis


def test_ticks_are_nice_1_2_5_steps() -> None:
    assert charts.linear_axis([0, 7539]).ticks == (0, 2000, 4000, 6000, 8000)
    assert charts.linear_axis([0.3, 0.97], from_zero=True).ticks[:3] == (0, 0.2, 0.4)
    assert charts.log_axis([10, 500]).ticks == (10, 20, 50, 100, 200, 500)
    assert charts.log_axis([3, 4000]).ticks == (1, 10, 100, 1000, 10000)  # decades only
    assert charts.format_number(2500) == "2.5k" and charts.format_value(4144.2) == "4,144"


def test_bar_chart_is_xml_with_every_measure_and_category() -> None:
    text = charts.bar_chart(
        {
            "fastapi-uvicorn": {"p50": 9.5, "p99": 29.0},
            "baseline-uvicorn": {"p50": 4.8, "p99": None},
        },
        title="hello: latency",
        value_label="latency (ms)",
        unit="ms",
        ceiling=30.0,
        invalid={"baseline-uvicorn"},
        standalone=False,
    )
    assert "xmlns" not in text and "http" not in text
    svg = ET.fromstring(text)
    assert {"p50", "p99", "ceiling", "invalid point"} <= set(_legend(svg))
    labels = "".join(svg.itertext())
    assert "fastapi-uvicorn" in labels and "baseline-uvicorn" in labels
    assert "4.80 ms ✗ invalid" in labels and "p99: no data" in labels


# The HTML in a real browser


CHECK_SCRIPT = """<script>
const boxes = [...document.querySelectorAll('svg')].map(s => {
  const r = s.getBoundingClientRect();
  return [r.width, r.height, s.querySelectorAll('rect,polyline,circle,polygon').length];
});
document.body.insertAdjacentHTML('beforeend',
  '<pre id="svg-' + 'check">' + JSON.stringify(boxes) + '</pre>');
</script>"""


@pytest.mark.process
def test_chromium_renders_the_charts_without_errors(tmp_path: Path) -> None:
    require_tool("chromium")
    _, html_path = report.write_report(_write(tmp_path, _doc()))
    html = html_path.read_text()
    # The report has no script; a copy with one measures every chart as laid out.
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", CHECK_SCRIPT + "</body>"))
    screenshot = tmp_path / "report.png"
    flags = [
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else "chromium",
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1300,2000",
    ]  # fmt: skip
    dump = subprocess.run(
        [*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=90
    )
    assert dump.returncode == 0, dump.stderr[-2000:]
    console = [line for line in dump.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    found = re.search(r'<pre id="svg-check">(.*?)</pre>', dump.stdout)
    assert found, dump.stdout[-2000:]
    boxes = json.loads(found.group(1))
    assert len(boxes) == html.count("<svg") >= 10
    assert all(width > 100 and height > 100 and shapes > 3 for width, height, shapes in boxes)
    shot = subprocess.run(
        [*flags, f"--screenshot={screenshot}", html_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert shot.returncode == 0 and [x for x in shot.stderr.splitlines() if ":CONSOLE" in x] == []
    assert screenshot.stat().st_size > 20_000  # a page of charts, not a blank one
    if os.environ.get("BENCH_KEEP_SCREENSHOT"):
        screenshot.replace(os.environ["BENCH_KEEP_SCREENSHOT"])
