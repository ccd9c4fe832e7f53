"""The project stands alone: every reference in its files points at a file it holds."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bench.results import store
from tests.support import REPO_ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MENTION = re.compile(
    r"(?<![\w/.-])((?:docs|scripts|docker|bench|tests)/[\w./-]+\.(?:md|py|sh|json))"
)


def tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", *patterns], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [REPO_ROOT / name for name in listed.split("\0") if name]


def _external(target: str) -> bool:
    return target.startswith(("http://", "https://", "mailto:"))


@pytest.mark.parametrize("page", tracked("*.md"), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_link_of_a_page_points_at_a_file(page: Path) -> None:
    text = page.read_text()
    missing = [
        target
        for target in LINK.findall(text)
        if not _external(target) and not (page.parent / target).exists()
    ]
    assert missing == [], f"{page.relative_to(REPO_ROOT)} links to missing files: {missing}"


def test_every_file_mentioned_by_path_exists() -> None:
    missing = set()
    for path in tracked("*.md", "*.py", "*.sh", "*.toml", "*.yml", "Makefile", "Dockerfile"):
        for mention in MENTION.findall(path.read_text(errors="replace")):
            if "<" in mention or "*" in mention:
                continue
            if not (REPO_ROOT / mention).exists():
                missing.add(f"{path.relative_to(REPO_ROOT)}: {mention}")
    assert sorted(missing) == []


def test_nothing_points_outside_the_repository() -> None:
    # Built from parts, so that this file does not match itself.
    parts = ("\\.\\./" + "shared", "/" + "work/", "/" + "root/")
    outside = re.compile("|".join(parts))
    found = [
        str(path.relative_to(REPO_ROOT))
        for path in tracked()
        if path.suffix not in (".lock", ".png", ".svg", ".html")
        and path.is_file()
        and outside.search(path.read_text(errors="replace"))
    ]
    assert found == []


def test_the_published_schema_is_the_one_the_suite_validates_with() -> None:
    published = json.loads((REPO_ROOT / "docs" / "results.schema.json").read_text())
    published.pop("$schema"), published.pop("title")
    assert published == json.loads(json.dumps(store.RESULTS_SCHEMA)), (
        "docs/results.schema.json is stale: python -m bench.results.store > "
        "docs/results.schema.json"
    )
