"""Fixtures of the crypto tests: two application hosts' copies of one keyring file."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
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


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def casework_logs() -> Iterator[_Lines]:
    """What casework logs during the test (its logger does not propagate to pytest's caplog)."""
    handler = _Lines()
    logger = logging.getLogger("casework")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
