"""Write files so that a reader never sees half of one: a temporary file, then a rename.

A leaf module (standard library only): the results store, the reports and the Locust
plugin all write through it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

# mkstemp creates its file for its owner alone (0600); a result or report is a file like
# any other, readable as the umask allows (a web server, a colleague, a container user).
# Read once, at import, since reading the umask means setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def write_text_atomic(path: str | Path, text: str, durable: bool = True) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename.

    `durable=False` skips the fsync, for a file rewritten every second that only a
    running process reads: a crash loses nothing kept, and the fsync (milliseconds, with
    the writer's whole event loop waiting) is what an open-loop generator cannot afford.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:  # the rename must not reach the disk before the data does
                os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, document: Any) -> None:
    """Write `document` as indented JSON (no NaN or infinity) atomically."""
    write_text_atomic(path, json.dumps(document, indent=1, allow_nan=False) + "\n")
