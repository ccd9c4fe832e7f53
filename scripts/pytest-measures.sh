#!/usr/bin/env bash
# The tests that assert measured figures (`-m measures`), in three queues side by side.
# Each test in them drives a light load (100-ms answers at a few dozen to two hundred
# requests a second, a fifth of a core or less), so three at a time keep the cores mostly
# idle, while the whole suite beside them would move their tails. Nothing else shares the
# cores. The two capacity searches (a minute each) open two queues, the figures timed to
# a few milliseconds (mock latency, line-by-line streams) sit in the third.
# Separate processes rather than xdist's groups: `--dist loadgroup` does not group on
# pytest 9.2 (pytest-xdist issue 1386). Usage: pytest-measures.sh PYTEST [ARGS...]
set -u
pytest=$1
shift
capacity=tests/bench/test_capacity.py
sync_search=$capacity::test_sync_workers_serve_littles_law_and_name_their_workers
demos=tests/bench/test_demos.py
runner=tests/bench/test_runner.py
first=$(mktemp)
second=$(mktemp)
trap 'rm -f "$first" "$second"' EXIT
"$pytest" -m measures "$sync_search" "$demos" -p no:cacheprovider "$@" >"$first" 2>&1 &
one=$!
"$pytest" -m measures "$capacity" --deselect "$sync_search" "$runner" -p no:cacheprovider \
    "$@" >"$second" 2>&1 &
two=$!
"$pytest" -m measures --ignore "$capacity" --ignore "$demos" --ignore "$runner" "$@"
three=$?
wait "$one"
found_one=$?
wait "$two"
found_two=$?
echo "--- the capacity search of sync workers, and the open-loop demo (run beside the above) ---"
cat "$first"
echo "--- the capacity search of a pooled async target, and the runner's figures (beside) ---"
cat "$second"
exit $((three || found_one || found_two))
