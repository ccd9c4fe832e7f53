"""Package variants: an environment of its own for a target spec with pins.

`drf-gunicorn-gthread@django==5.1.*` runs the same service with Django 5.1 while every
other target of the run keeps the project's lock. Its environment is built with uv:

1. the requirements are the project's own dependencies (pyproject.toml), with every
   requirement on a pinned package replaced by the pin (so a pin may leave the
   project's own range, as `django==5.1.*` leaves `django>=5.2,<5.3`);
2. they are resolved (`uv pip compile`) with requirements.lock as the preferred
   versions: everything the pins do not force to move stays at the locked version,
   and what must move with them (djangorestframework with Django, pydantic-core with
   pydantic) moves to a version that fits, or the resolution fails;
3. a virtual environment gets exactly that set (`uv venv`, `uv pip sync`); the
   services run from the repository's folder, so the project itself is not installed.

The environment is cached under .venv-variants/<key>, the key hashing the pins, the
lock, the project's dependencies and the interpreter: a second run with the same pins
starts at once, and a change of the lock builds a new one. uv takes packages from its
own cache when it has them, else from the registry. A spec that does not resolve is
refused with uv's reason in one line (VariantError).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.results.conditions import canonical
from bench.running.environment import PACKAGES, REPO_ROOT
from bench.running.targets import Target, pin_name

VARIANTS_DIR = REPO_ROOT / ".venv-variants"
LOCK = REPO_ROOT / "requirements.lock"
PYPROJECT = REPO_ROOT / "pyproject.toml"
DONE = "variant.json"  # written last: a folder without it is a build that did not finish
BUILD_TIMEOUT_S = 900


class VariantError(RuntimeError):
    """Pins that cannot be built into an environment; the message is one line."""


@dataclass(frozen=True)
class Variant:
    """A built environment: its pins, folder, and the versions that matter in it."""

    pins: tuple[str, ...]
    path: Path
    packages: dict[str, str | None]  # the variant's versions (see `recorded`)
    base: dict[str, str | None]  # the same packages in the running environment

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


def uv() -> str:
    """The uv of this environment (a runtime dependency), else one on the PATH."""
    beside = Path(sys.executable).with_name("uv")
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise VariantError("package variants need uv: install it (pip install uv)")
    return found


def project_requirements(pins: Sequence[str], pyproject: Path = PYPROJECT) -> list[str]:
    """The project's dependencies with each requirement on a pinned package replaced."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pinned = {canonical(pin_name(pin)) for pin in pins}
    kept = [d for d in dependencies if canonical(pin_name(d).split(";")[0].strip()) not in pinned]
    return [*kept, *pins]


def key(pins: Sequence[str], lock_text: str, requirements: Sequence[str]) -> str:
    """The cache key of a variant: what decides its environment."""
    identity = {
        "pins": sorted(pins),
        "lock": hashlib.sha256(lock_text.encode()).hexdigest(),
        "requirements": sorted(requirements),
        "python": [sys.implementation.name, platform.python_version(), platform.machine()],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def one_line(stderr: str) -> str:
    """uv's reason, in one line: the "cause" of a failed resolution, else its last words."""
    text = re.sub(r"[\u2500-\u25ff\u00d7]", " ", stderr)  # box drawing, arrows, the x mark
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line.removeprefix("cause:").strip() for line in lines if line.startswith("cause:")]
    chosen = causes or [line.removeprefix("error:").strip() for line in lines[-3:]]
    return re.sub(r"\s+", " ", " ".join(chosen)) or "uv failed without a message"


def _uv(args: Sequence[str], what: str, pins: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            [uv(), *args], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise VariantError(f"@{','.join(pins)}: {what} took over {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise VariantError(f"@{','.join(pins)}: {what} failed: {one_line(done.stderr)}")
    return done.stdout


def installed(python: str, pins: Sequence[str]) -> dict[str, str]:
    """Every package of an environment and its version (canonical names)."""
    listing = _uv(["pip", "list", "--format", "json", "--python", python], "listing", pins)
    return {canonical(item["name"]): item["version"] for item in json.loads(listing)}


def running_versions() -> dict[str, str]:
    """Every package of the environment the bench runs in (canonical names)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[canonical(name)] = dist.version
    return found


def recorded(variant: dict[str, str], pins: Sequence[str]) -> list[str]:
    """The packages a variant's points record: the suite's list, the pinned ones, and
    every package whose version differs from the running environment's."""
    here = running_versions()
    names = {canonical(name) for name in PACKAGES} | {canonical(pin_name(p)) for p in pins}
    names |= {name for name, version in variant.items() if here.get(name) != version}
    return sorted(names)


def _resolve(folder: Path, pins: Sequence[str], requirements: Sequence[str]) -> Path:
    """Compile the variant's lock, preferring requirements.lock's versions."""
    (folder / "variant.in").write_text("\n".join(requirements) + "\n")
    lock = folder / "variant.lock"
    shutil.copyfile(LOCK, lock)  # an existing output file is uv's preferred versions
    _uv(
        ["pip", "compile", str(folder / "variant.in"), "-o", str(lock), "--quiet",
         "--python", sys.executable, "--no-header"],
        "resolving the pins with the project's dependencies",
        pins,
    )  # fmt: skip
    return lock


def _build(folder: Path, pins: tuple[str, ...], requirements: Sequence[str]) -> Variant:
    if folder.exists():
        shutil.rmtree(folder)  # a build that did not finish
    folder.mkdir(parents=True)
    lock = _resolve(folder, pins, requirements)
    venv = folder / "venv"
    _uv(["venv", str(venv), "--python", sys.executable, "--quiet"], "creating the venv", pins)
    python = str(venv / "bin" / "python")
    _uv(["pip", "sync", str(lock), "--python", python, "--quiet"], "installing", pins)
    everything = installed(python, pins)
    here = running_versions()
    names = recorded(everything, pins)
    variant = Variant(
        pins,
        venv,
        {name: everything.get(name) for name in names},
        {name: here.get(name) for name in names},
    )
    document = {"pins": list(pins), "packages": variant.packages, "base": variant.base}
    (folder / DONE).write_text(json.dumps(document, indent=1, sort_keys=True))
    return variant


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One build per folder at a time, across processes (two runs may share a variant)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_built: dict[tuple[str, ...], Variant] = {}


def ensure(pins: Sequence[str]) -> Variant:
    """The variant of these pins: from this process, from the cache, or built now."""
    pins = tuple(pins)
    if pins in _built:
        return _built[pins]
    requirements = project_requirements(pins)
    folder = VARIANTS_DIR / key(pins, LOCK.read_text(), requirements)
    with _locked(folder):
        done = folder / DONE
        if done.exists():
            document = json.loads(done.read_text())
            variant = Variant(pins, folder / "venv", document["packages"], document["base"])
        else:
            try:
                variant = _build(folder, pins, requirements)
            except VariantError:
                shutil.rmtree(folder, ignore_errors=True)  # nothing half-built stays
                raise
    _built[pins] = variant
    return variant


def interpreter(target: Target) -> str | None:
    """The Python that runs a target: its variant's, or None for the running one."""
    return ensure(target.pins).python if target.pins else None


def prepare(targets: Sequence[Target]) -> list[Variant]:
    """Build (or find) every variant of these targets; VariantError names the first bad one."""
    variants = []
    for target in targets:
        if target.pins:
            try:
                variants.append(ensure(target.pins))
            except VariantError as exc:
                reason = str(exc).split(": ", 1)[-1]
                raise VariantError(f"{target.name}: {reason}") from None
    return variants
