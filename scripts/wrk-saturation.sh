#!/usr/bin/env bash
# An independent saturation figure for one service's POST /complete: wrk (one thread,
# keep-alive connections) instead of Locust, on the cores `bench capacity` uses (the
# service on the first core, wrk and the mock on the last), against the same mock at
# `bench capacity`'s short latency (100 ms answers of 10 tokens). For each connection
# count it prints wrk's req/s, p50 and p99 and the service's CPU, so that `bench
# capacity`'s max throughput can be checked against a generator that costs far less CPU
# per request.
#
#   bash scripts/wrk-saturation.sh [SERVICE_ARGS...]
#   bash scripts/wrk-saturation.sh                                  # fastapi_app on uvicorn
#   bash scripts/wrk-saturation.sh flask_app --server gunicorn-gevent --workers 3
#
# Settings from the environment: CONNECTIONS (default "50 100 200 400"), RUN_SECONDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk-saturation: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -x .venv/bin/python ] || { echo "wrk-saturation: no .venv; run 'make venv' first" >&2; exit 2; }
service=("$@")
[ ${#service[@]} -gt 0 ] || service=(fastapi_app --server uvicorn --workers 1)
first=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
last=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
port=18700 mock_port=18790 run_s=${RUN_SECONDS:-20}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

setsid taskset -c "$last" .venv/bin/python -m mock_llm --port "$mock_port" \
    --ttft-ms 100 --itl-ms 0 --output-tokens 10 >"$work/mock.log" 2>&1 &
pids+=($!)
LLM_BASE_URL="http://127.0.0.1:$mock_port/v1" setsid taskset -c "$first" \
    .venv/bin/python -m "${service[@]}" --port "$port" >"$work/service.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { cat "$work/service.log" >&2; exit 1; }

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt": "Say hello in a few words.", "max_tokens": 10}'
wrk.headers["Content-Type"] = "application/json"
LUA

service_cpu() {  # CPU seconds of the service's process tree so far
    local total=0 pid
    for pid in $(pgrep -g "${pids[1]}"); do
        total=$(awk -v t="$total" '{print t + ($14 + $15) / 100}' "/proc/$pid/stat" 2>/dev/null || echo "$total")
    done
    echo "$total"
}

echo "service: ${service[*]} on core $first; wrk and the mock on core $last; mock 100 ms, 10 tokens"
# The server core's speed now, as bench runs record it (environment.core_speed): a figure
# measured at another time compares with this one only at the same speed.
speed() { .venv/bin/python -c "from bench.running.speed import measure; print(measure([$first]))"; }
echo "server core speed at the start: $(speed) (a calibration loop, thousands a second)"
trap 'echo "server core speed at the end: $(speed)"; cleanup' EXIT
printf '%12s %10s %10s %10s %12s\n' connections req/s p50 p99 service-cpu
for connections in ${CONNECTIONS:-50 100 200 400}; do
    # a short warm-up at this load, then the measured run
    taskset -c "$last" wrk -t1 -c"$connections" -d3s -s "$work/post.lua" \
        "http://127.0.0.1:$port/complete" >/dev/null
    before=$(service_cpu)
    out=$(taskset -c "$last" wrk -t1 -c"$connections" -d"${run_s}s" \
        --latency --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$port/complete")
    after=$(service_cpu)
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    cpu=$(awk -v a="$after" -v b="$before" -v s="$run_s" 'BEGIN {printf "%.0f %%", 100 * (a - b) / s}')
    printf '%12s %10s %10s %10s %12s %s\n' "$connections" "$rps" "$p50" "$p99" "$cpu" "$errors"
done
