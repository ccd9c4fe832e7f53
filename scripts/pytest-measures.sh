#!/usr/bin/env bash
# The tests that assert measured figures (`-m measures`), in four queues side by side.
# Each test in them drives a light load (100-ms answers at a few dozen to two hundred
# requests a second, a fifth of a core or less): side by side they keep the two cores
# about half busy (0.8 of the 2 cores, measured with three queues), where the whole suite
# beside them would move their tails. The two capacity searches (a minute each) lead two
# queues; every other measured test, new ones included, falls into the last (about 100 s
# a queue). Separate processes rather than xdist's groups: `--dist loadgroup` does not
# group on pytest 9.2 (pytest-xdist issue 1386).
# Usage: pytest-measures.sh PYTEST [ARGS...]
set -u
pytest=$1
shift
capacity=tests/bench/test_capacity.py
sync_search=$capacity::test_sync_workers_serve_littles_law_and_name_their_workers
sync_live=$capacity::test_the_live_view_follows_each_step_of_a_search  # the same search
runner=tests/bench/test_runner.py
abandoned=$runner::test_abandoned_requests_do_not_steal_the_next_window
quiet=(tests/bench/test_demos.py tests/bench/test_distributed.py tests/drf_app)
# The mock's own timing, to 5 ms, runs alone once the queues are done: beside them its
# first token came 13 ms late and its slowest twentieth of wake-ups 6.6 ms (a few s alone).
alone=tests/mock_llm/test_latency.py
logs=()
pids=()
trap 'rm -f "${logs[@]}"' EXIT

# Each queue starts its servers on ports of its own slice (tests/support.py, free_port).
slice=6
beside() {  # beside TITLE PYTEST-ARGS...: a queue in the background, its output kept
    local log
    log=$(mktemp)
    logs+=("$log")
    echo "--- $1 (run beside the queue below) ---" >"$log"
    shift
    TEST_PORTS_SLICE=$slice "$pytest" -m measures -p no:cacheprovider "$@" >>"$log" 2>&1 &
    pids+=($!)
    slice=$((slice + 1))
}

beside "the capacity search of sync workers; abandoned requests" "$sync_search" "$sync_live" \
    "$abandoned" "$@"
beside "the capacity search of a pooled async target" "$capacity" --deselect "$sync_search" \
    --deselect "$sync_live" "$@"
beside "the open-loop demo, distributed Locust, DRF's timings" "${quiet[@]}" "$@"
ignored=()
for path in "$capacity" "${quiet[@]}" "$alone"; do
    ignored+=(--ignore "$path")
done
TEST_PORTS_SLICE=$slice "$pytest" -m measures "${ignored[@]}" --deselect "$abandoned" "$@"
failed=$?
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
    cat "${logs[$i]}"
done
"$pytest" -m measures -p no:cacheprovider "$alone" "$@" || failed=1
exit "$failed"
