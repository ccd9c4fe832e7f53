#!/usr/bin/env bash
# The tests that assert measured figures (`-m measures`), in two queues side by side:
# the capacity searches (tests/bench/test_capacity.py) wait most of their two minutes on
# 100-ms answers at a few dozen requests a second, a fifth of a core at most, while every
# other measured test runs one at a time beside them. Nothing else shares the cores.
# Two processes rather than xdist's groups: `--dist loadgroup` does not group on pytest
# 9.2 (pytest-xdist issue 1386). Usage: pytest-measures.sh PYTEST [ARGS...]
set -u
pytest=$1
shift
capacity=tests/bench/test_capacity.py
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$pytest" -m measures "$capacity" -p no:cacheprovider "$@" >"$log" 2>&1 &
searches=$!
"$pytest" -m measures --ignore "$capacity" "$@"
others=$?
wait "$searches"
found=$?
echo "--- $capacity (run beside the tests above) ---"
cat "$log"
exit $((others || found))
