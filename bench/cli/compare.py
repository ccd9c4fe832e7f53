"""`bench compare REFERENCE CHANGED...`: is a change real, and how big is it?"""

from __future__ import annotations

import argparse

from bench.cli import args as a
from bench.cli.args import Parser, Subparsers, UsageError, console
from bench.reports import compare as c
from bench.results import comparison, significance
from bench.results import conditions as cond


def varying(text: str) -> tuple[str, ...]:
    """--varying: categories of conditions, comma-separated."""
    try:
        return cond.parse_varying(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Subparsers[Parser]) -> None:
    """Add `bench compare` with the method in its help."""
    parser = sub.add_parser(
        "compare",
        help="compare a reference run with changed runs, with significance tests",
        description=(significance.__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reference", help="reference run folder or its results.json")
    parser.add_argument(
        "changed",
        nargs="*",
        help="changed run(s); each is compared against the reference. Without one, the "
        "package variants of the reference run (a target measured as name and "
        "name@pkg==X) are compared with each other",
    )
    parser.add_argument(
        "--varying",
        type=varying,
        help="what was changed on purpose: one or more of "
        f"{','.join(cond.CATEGORIES)} (default code; packages when comparing the "
        "variants within one run). Its change becomes the title; a difference in "
        "anything else is warned about",
    )
    parser.add_argument(
        "--test",
        choices=significance.TESTS,
        default="auto",
        help="welch, mannwhitney, or auto (default): Welch unless a sample is skewed "
        "and there are enough repetitions for Mann-Whitney to reach --alpha",
    )
    parser.add_argument("--alpha", type=a.fraction, default=0.05, help="default 0.05")
    parser.add_argument(
        "--min-effect",
        type=a.non_negative,
        default=0.05,
        help="smallest relative change that counts (default 0.05 = 5 %%)",
    )
    parser.add_argument("--format", choices=c.FORMATS, default="table", help="default table")
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when any significant regression is found (for CI)",
    )


def _pairs(args: argparse.Namespace) -> list[tuple[comparison.Named, comparison.Named]]:
    """What to compare: each changed run with the reference, or the reference's variants."""
    try:
        reference = c.load_run(args.reference)
        changed = [c.load_run(location) for location in args.changed]
    except c.InputError as exc:
        raise UsageError(str(exc)) from None
    if changed:
        return [(reference, run) for run in changed]
    pairs = comparison.variant_pairs(reference)
    if not pairs:
        raise UsageError(
            f"{args.reference}: give a changed run to compare with (this run holds no "
            "target measured at two package sets, such as name and name@django==5.1.*)"
        )
    return pairs


def command(args: argparse.Namespace) -> int:
    """Compare; 1 for a significant regression with --fail-on-regression, else 0."""
    pairs = _pairs(args)
    default = (cond.PACKAGES,) if not args.changed else cond.DEFAULT_VARYING
    settings = significance.Settings(
        args.test, args.alpha, args.min_effect, args.varying or default
    )
    comparisons = [comparison.compare(reference, run, settings) for reference, run in pairs]
    if args.format == "table":
        c.render_table(comparisons, settings, console)
    else:
        print(c.render(comparisons, settings, args.format))
    regression = any(item.count(significance.REGRESSION) for item in comparisons)
    return 1 if args.fail_on_regression and regression else 0
