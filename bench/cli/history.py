"""`bench history RUN_DIR...`: the headline figures of many runs, in order, with changes."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

from bench.cli import args as a
from bench.cli.args import Parser, Subparsers, UsageError, console
from bench.cli.compare import varying
from bench.reports import compare as cmp
from bench.reports import history as h
from bench.reports import history_html
from bench.results import conditions as cond
from bench.results import history, store
from bench.results.comparison import Named
from bench.results.files import write_text_atomic
from bench.results.significance import Settings
from bench.running.environment import REPO_ROOT

FORMATS = ("table", "json")


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench history`."""
    parser = sub.add_parser(
        "history",
        help="line many runs up by time and commit: headline figures, intervals, changes",
        description=(history.__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "runs", nargs="+", help="run folders or their results.json; a quoted glob such as "
        "'results/*' works too (folders without results.json are then left out)",
    )  # fmt: skip
    parser.add_argument(
        "--out",
        help="folder for history.html and history.json (default results/history/)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default table")
    parser.add_argument(
        "--varying",
        type=varying,
        help=f"what may change from run to run without a mark: one or more of "
        f"{','.join(cond.CATEGORIES)} (default code)",
    )
    parser.add_argument("--alpha", type=a.fraction, default=0.05, help="default 0.05")
    parser.add_argument(
        "--min-effect",
        type=a.non_negative,
        default=0.05,
        help="smallest relative change that counts (default 0.05 = 5 %%)",
    )


def _is_run(path: Path) -> bool:
    if path.is_dir():
        return (path / store.RESULTS_NAME).is_file()
    return path.name == store.RESULTS_NAME


def locations(patterns: list[str]) -> tuple[list[str], list[str]]:
    """The run folders asked for, and what was left out as no run folder.

    A shell glob such as results/* also passes README.md and results/history/: a path
    that is no run folder (no results.json in it) is left out, and so are a quoted
    glob's matches that are none; a results.json that cannot be read is an error.
    """
    found: list[str] = []
    left_out: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if not path.exists() and glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            found += [m for m in matches if _is_run(Path(m))]
        elif path.exists() and not _is_run(path):
            left_out.append(pattern)
        else:
            found.append(pattern)
    return list(dict.fromkeys(found)), left_out


def load(patterns: list[str]) -> list[Named]:
    """Load every run; UsageError in one line for one that cannot be used, or for none."""
    found, left_out = locations(patterns)
    if not found:
        raise UsageError(f"{' '.join(patterns)}: no run folder (a folder with results.json)")
    if left_out:
        console.print(f"left out, not run folders: {', '.join(left_out)}")
    try:
        return [cmp.load_run(location) for location in found]
    except cmp.InputError as exc:
        raise UsageError(str(exc)) from None


def command(args: argparse.Namespace) -> int:
    """Print the history, write history.html and history.json."""
    settings = Settings(
        alpha=args.alpha, min_effect=args.min_effect, varying=args.varying or cond.DEFAULT_VARYING
    )
    found = history.build(load(args.runs), settings)
    out = Path(args.out) if args.out else REPO_ROOT / "results" / "history"
    document = h.to_json(found)
    write_text_atomic(out / "history.html", history_html.render(found))
    write_text_atomic(out / "history.json", document + "\n")
    if args.format == "json":
        print(document)
        return 0
    h.render_table(found, console)
    console.print(f"history: {out / 'history.html'} (and history.json)")
    return 0
