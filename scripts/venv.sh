#!/usr/bin/env bash
# Create or refresh .venv from the locks (what `make venv`, and so `make bench` and
# `make test`, run first). Fast when nothing changed.
#
#   bash scripts/venv.sh                 # a supported interpreter found by scripts/find-python.sh
#   PYTHON=python3.12 bash scripts/venv.sh   # this one; a .venv of another version is made again
#
# .venv gets requirements-dev.lock: the runtime lock (requirements.lock, all the image
# installs) plus the development tools, at the same versions. Bootstrapping needs nothing
# but Python: pip installs uv at the lock's own version, and uv installs the lock (11 s
# with uv's cache filled, 20 s from an empty one, against 50 s with pip; `make test`
# counts it). Should uv fail (its registry unreachable where only pip's mirror is), pip
# installs the lock instead. uv compiles the bytecode as pip does: where
# PYTHONDONTWRITEBYTECODE is set (as here), no process would write it, and every Locust
# and server start would compile its packages again (twice the CPU of a start; a
# clean-clone `make test` took 15 CPU-minutes, not 10).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp=$venv/.installed
wanted=${PYTHON:-}

minor_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

if [ -x $venv/bin/python ]; then
    have=$(minor_of $venv/bin/python 2>/dev/null || echo broken)
    if [ -n "$wanted" ]; then
        python=$(bash scripts/find-python.sh "$wanted") || exit 2
        if [ "$have" != "$(minor_of "$python")" ]; then
            echo "venv: .venv has Python $have, PYTHON=$wanted is $(minor_of "$python"): making it again"
            rm -rf $venv
        fi
    elif ! bash scripts/find-python.sh $venv/bin/python >/dev/null 2>&1; then
        echo "venv: .venv has Python $have, which is not supported: making it again"
        rm -rf $venv
    fi
fi

if [ ! -x $venv/bin/python ]; then
    python=$(bash scripts/find-python.sh ${wanted:+"$wanted"}) || exit 2
    echo "venv: creating .venv with Python $(minor_of "$python") ($python)"
    "$python" -m venv $venv
fi

if [ ! -f $stamp ] || [ requirements-dev.lock -nt $stamp ] || [ requirements.lock -nt $stamp ] \
    || [ pyproject.toml -nt $stamp ]; then
    uv_pin=$(grep -E '^uv==' requirements-dev.lock | cut -d' ' -f1)
    if $venv/bin/python -m pip install --quiet "$uv_pin" \
        && $venv/bin/uv pip sync --quiet --compile-bytecode --python $venv/bin/python \
            requirements-dev.lock \
        && $venv/bin/uv pip install --quiet --python $venv/bin/python --no-deps -e .; then
        :
    else
        echo "venv: uv could not install the lock; installing it with pip"
        $venv/bin/python -m pip install --quiet --upgrade pip
        $venv/bin/python -m pip install --quiet -r requirements-dev.lock
        $venv/bin/python -m pip install --quiet --no-deps -e .
    fi
    touch $stamp
fi
