#!/usr/bin/env bash
# Print the path of a Python interpreter that this project supports (CPython 3.11 to 3.13),
# or say in one line which to install and exit 2.
#
#   scripts/find-python.sh              # the first supported one of python3, python3.13,
#                                       # python3.12, python3.11, then pyenv's versions
#   scripts/find-python.sh python3.12   # this command, if it runs a supported version
#   scripts/find-python.sh 3.12         # a Python 3.12: python3.12 on PATH, or pyenv's
#
# pyenv's shims answer for every installed version but fail for a version that is not
# selected (`pyenv: python3.12: command not found`), so each candidate is run, not just
# looked up, and pyenv's own versions are tried after PATH.
set -euo pipefail

MIN=11 MAX=13 # minor versions of Python 3 that the locks install on (docs/dependencies.md)

# Print the interpreter's own path when it runs and is supported.
supported() {
    "$1" -c "
import sys
ok = sys.implementation.name == 'cpython' and (3, $MIN) <= sys.version_info[:2] <= (3, $MAX)
print(sys.executable) if ok else sys.exit(1)" 2>/dev/null
}

# Print version X.Y of the interpreter, or nothing.
version_of() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

# pyenv's installed X.Y.* (the newest patch release), without selecting it.
from_pyenv() {
    command -v pyenv >/dev/null 2>&1 || return 1
    local root version
    root=$(pyenv root)
    version=$(pyenv latest "$1" 2>/dev/null) || return 1
    supported "$root/versions/$version/bin/python$1"
}

wanted=${1:-}
case "$wanted" in
    "")
        for candidate in python3 python3.13 python3.12 python3.11; do
            supported "$candidate" && exit 0
        done
        for minor in $(seq $MAX -1 $MIN); do
            from_pyenv "3.$minor" && exit 0
        done
        have=$(version_of python3)
        echo "no supported Python found${have:+ (python3 is $have)}: install CPython 3.11, 3.12 or 3.13, or name one: make PYTHON=/path/to/python3.12 ..." >&2
        ;;
    3.*)
        minor=${wanted#3.}
        if [[ ! "$minor" =~ ^[0-9]+$ ]] || ((minor < MIN || minor > MAX)); then
            echo "Python $wanted is not supported: use CPython 3.11, 3.12 or 3.13" >&2
            exit 2
        fi
        supported "python$wanted" && exit 0
        from_pyenv "$wanted" && exit 0
        echo "no Python $wanted found: install it, or use another of CPython 3.11, 3.12 and 3.13" >&2
        ;;
    *)
        supported "$wanted" && exit 0
        # python3.12 may be a pyenv shim of a version that is installed but not selected
        [[ "$wanted" =~ ^python(3\.[0-9]+)$ ]] && from_pyenv "${BASH_REMATCH[1]}" && exit 0
        have=$(version_of "$wanted")
        if [ -n "$have" ]; then problem="is Python $have"; else problem="does not run"; fi
        echo "PYTHON=$wanted $problem: use CPython 3.11, 3.12 or 3.13, e.g. make PYTHON=python3.12 ..." >&2
        ;;
esac
exit 2
