"""The mechanisms behind the lessons point to code that exists: a file and a name in it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.demos import catalog, claims, mechanisms
from bench.demos.catalog import DEMOS
from bench.demos.mechanisms import Code, Mechanism
from tests.support import REPO_ROOT


def _defined(tree: ast.Module) -> set[str]:
    """Top-level functions, classes (and Class.method) and module-level settings."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _every_mechanism() -> dict[str, Mechanism]:
    """Each demo's, and the claims'."""
    return {**{demo.name: demo.mechanism for demo in DEMOS}, "claims": mechanisms.CLAIMS}


def _every_code() -> list[Code]:
    found = [code for m in _every_mechanism().values() for code in m.code]
    return found + [code for claim in claims.CLAIMS for code in claim.code]


@pytest.mark.parametrize("code", _every_code(), ids=lambda c: c.label())
def test_every_pointer_names_code_that_exists(code: Code) -> None:
    path = REPO_ROOT / code.path
    assert path.is_file(), code.path
    assert code.name in _defined(ast.parse(Path(path).read_text())), code.label()


def test_every_demo_and_the_claims_explain_their_own_mechanism() -> None:
    found = _every_mechanism()
    assert len({id(m) for m in found.values()}) == len(found)  # none borrows another's
    for name, mechanism in found.items():
        assert 2 <= mechanism.text.count(". ") + 1 <= 8, name  # a few sentences
        assert mechanism.code, name


def test_renderings_name_the_places_to_read() -> None:
    blocking = catalog.find("blocking-the-loop").mechanism
    page = blocking.html_block()
    assert "What happened inside." in page and "complete_blocking" in page
    assert "fastapi_app/routers/completions.py" in blocking.markdown()
    assert "Read it in the code:" in catalog.find("threadpool-limit").mechanism.terminal()
