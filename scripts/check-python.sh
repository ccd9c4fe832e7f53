#!/usr/bin/env bash
# Check that the locks install on each given Python and that the suite starts there:
# a throwaway venv per version gets requirements.lock (the runtime set, as the image),
# runs `bench targets` and imports every service, then gets requirements-dev.lock on top
# and `pip check` must find no conflict. `make test-pythons` runs it for 3.12 and 3.13
# (CI's own tests run on the interpreter of .venv, 3.11 by default).
#
#   bash scripts/check-python.sh 3.12 3.13
#
# A version that is not installed is skipped with one line (exit 0), except under
# CI=true, where it fails: CI is meant to prove every supported version.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: scripts/check-python.sh VERSION..." >&2; exit 2; }

check() {
    local version=$1 python venv started
    if ! python=$(bash scripts/find-python.sh "$version" 2>&1); then
        echo "check-python $version: SKIPPED: $python"
        [ -z "${CI:-}" ] || return 1
        return 0
    fi
    started=$(date +%s)
    venv=$(mktemp -d "${TMPDIR:-/tmp}/bench-py$version.XXXXXX")
    # shellcheck disable=SC2064  # expand now: the venv of this call
    trap "rm -rf '$venv'" RETURN
    log=$venv/check.log
    # pip's output goes to the log, shown only when a step fails
    if ! {
        "$python" -m venv "$venv" &&
            "$venv/bin/python" -m pip install --quiet --upgrade pip &&
            "$venv/bin/python" -m pip install --quiet -r requirements.lock &&
            "$venv/bin/python" -m pip install --quiet --no-deps . &&
            # outside the checkout, so that the installed package runs, not the sources
            (cd "$venv" && bin/bench targets) &&
            (cd "$venv" && bin/python -c 'import fastapi_app, flask_app, drf_app, mock_llm') &&
            "$venv/bin/python" -m pip install --quiet -r requirements-dev.lock &&
            "$venv/bin/python" -m pip check
    } >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" | tail -n 30 >&2
        return 1
    fi
    echo "check-python $version: OK: $("$venv/bin/python" --version), both locks install," \
        "bench targets runs ($(($(date +%s) - started)) s)"
}

status=0
for version in "$@"; do
    check "$version" || { echo "check-python $version: FAILED" >&2; status=1; }
done
exit $status
