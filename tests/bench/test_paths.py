"""Where the bench finds the repository: the default run folder and the servers' cwd."""

from __future__ import annotations

from bench.running import environment, runner
from tests.support import REPO_ROOT


def test_the_repository_root_is_the_repository_not_the_bench_package() -> None:
    # It pointed at bench/ once the module moved to bench/running/: runs then landed in
    # bench/results/ and the servers started from inside the package.
    assert environment.REPO_ROOT == REPO_ROOT
    assert (environment.REPO_ROOT / "pyproject.toml").is_file()
    folder = runner.run_folder(None)
    assert folder.parent == REPO_ROOT / "results"
    assert str(runner.run_folder("elsewhere/run")) == "elsewhere/run"
