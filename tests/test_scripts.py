"""scripts/serve starts the service and never installs: on a read-only install (systemd
ProtectSystem=strict) or without network it must not reach for pip or a package index. A
missing or incomplete .venv stops it at once with a message that says what to run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE = """#!/bin/sh
echo "$0 $*" >> "{log}"
exit 1
"""


def _release_copy(tmp_path: Path) -> Path:
    """The scripts and requirements of this release in a directory of their own."""
    release = tmp_path / "release"
    shutil.copytree(ROOT / "scripts", release / "scripts")
    for requirements in ROOT.glob("requirements*.txt"):
        shutil.copy(requirements, release)
    return release


def _serve(release: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run scripts/serve with python3 and pip replaced by stand-ins that record being called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "installers.log"
    for name in ("python3", "pip", "pip3"):
        path = bin_dir / name
        path.write_text(FAKE.format(log=log))
        path.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "PYTHON": str(bin_dir / "python3"),
        "CASEWORK_ENV": "production",
        "CASEWORK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "CASEWORK_SECRET_KEY": "x" * 40,
        "CASEWORK_KEYRING": str(tmp_path / "no-keyring.json"),
        "CASEWORK_AUDIT_ANCHOR": str(tmp_path / "anchor.log"),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(  # noqa: S603 - our own script
        [str(release / "scripts" / "serve")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return result, log.read_text() if log.exists() else ""


def test_serve_without_a_venv_refuses_and_installs_nothing(tmp_path):
    release = _release_copy(tmp_path)
    result, installers = _serve(release, tmp_path)
    assert result.returncode != 0
    assert installers == "", f"scripts/serve tried to install: {installers}"
    assert "scripts/install" in result.stderr
    assert not (release / ".venv").exists()


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the project's .venv")
def test_serve_with_an_incomplete_venv_names_what_is_missing(tmp_path):
    release = _release_copy(tmp_path)
    os.symlink(ROOT / ".venv", release / ".venv")
    requirements = release / "requirements.txt"
    requirements.write_text(requirements.read_text() + "casework-not-a-package==1.0\n")
    result, installers = _serve(release, tmp_path)
    assert result.returncode != 0
    assert installers == ""
    assert "casework-not-a-package" in result.stderr and "scripts/install" in result.stderr
