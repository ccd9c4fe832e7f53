#!/usr/bin/env bash
# Install the Debian packages the test suite drives (load generators, parsers,
# browsers) when they are missing. Needs root (as in CI); otherwise it prints the
# command to run and the tests that need a missing tool are skipped, except under
# CI=true, where they fail instead.
set -euo pipefail

# command -> Debian package
declare -A NEEDED=([wrk]=wrk [chromium]=chromium [docker-compose]=docker-compose)

missing=()
for cmd in "${!NEEDED[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "system-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "system-deps: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
fi
