"""Is this virtual environment a complete install of the given requirements file? (stdlib only)

Run by scripts/serve and scripts/manage before they start anything, with the venv's own
python: every pinned requirement must be installed at its pinned version, with every package
it needs in turn. Nothing is installed and no package index is contacted; exit 1 with what is
missing (scripts/install is the step that installs).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,.-]+\])?==([^\s;#]+)")
NAME = re.compile(r"^([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,.-]+\])?")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(marker: str, extras: set[str]) -> bool:
    """Evaluate a requirement's environment marker, with pip's own packaging when available."""
    if not marker:
        return True
    try:
        from pip._vendor.packaging.markers import Marker
    except ImportError:  # no pip in the venv: only extras decide
        wanted = re.findall(r'extra\s*==\s*"([^"]+)"', marker)
        return not wanted or bool(set(wanted) & extras)
    return any(Marker(marker).evaluate({"extra": extra}) for extra in (extras or {""}))


def problems(requirements: Path) -> list[str]:
    found: list[str] = []
    todo: list[tuple[str, set[str]]] = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = PIN.match(line)
        if match is None:
            found.append(f"{line}: not pinned with ==")
            continue
        name, extras, version = match.group(1), match.group(2), match.group(3)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            found.append(f"{name}=={version} is not installed")
            continue
        if installed != version:
            found.append(f"{name}=={version} is wanted, {installed} is installed")
        todo.append((name, set(extras.strip("[]").split(",")) if extras else set()))
    seen: set[str] = set()
    while todo:  # every package the pinned ones need, and so on
        name, extras = todo.pop()
        key = _normal(name) + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            needs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in needs:
            spec, _, marker = requirement.partition(";")
            if not _applies(marker.strip(), extras):
                continue
            match = NAME.match(spec.strip())
            if match is None:
                continue
            dependency = match.group(1)
            try:
                metadata.version(dependency)
            except metadata.PackageNotFoundError:
                found.append(f"{dependency} (needed by {name}) is not installed")
                continue
            todo.append((dependency, set(match.group(2).strip("[]").split(",")) if match.group(2) else set()))
    return found


def main() -> int:
    requirements = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
    missing = problems(requirements)
    if missing:
        print(f"{sys.prefix} is not a complete install of {requirements}:", file=sys.stderr)
        for line in missing:
            print(f"  - {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
