"""Fixtures of the crypto tests: two application hosts' copies of one keyring file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casework.crypto.keyring import Keyring
from tests.crypto.hosts import KeyFiles


@pytest.fixture
def keyfiles(tmp_path: Path) -> KeyFiles:
    a = tmp_path / "host-a" / "keyring.json"
    b = tmp_path / "host-b" / "keyring.json"
    Keyring.generate().save(a)
    b.parent.mkdir()
    shutil.copyfile(a, b)
    return KeyFiles(a, b)
