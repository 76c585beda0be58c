"""Audit fixtures: a chain with some events, raw SQL access for tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from casework.audit import writer
from casework.audit.sequencer import integrate_pending
from casework.db import get_db, session


@pytest.fixture
def write_events(app: Flask) -> Callable[..., None]:
    """Append ``count`` events through the real writer, then integrate them into the tree and
    anchor the checkpoint, as the sequencer does within a second (``integrate=False``: not yet)."""

    def write(count: int, action: str = "test.event", integrate: bool = True, **kwargs: Any) -> None:
        with app.app_context():
            for number in range(count):
                writer.record(action, details={"n": number}, **kwargs)
            session.commit()
            while integrate and integrate_pending() is not None:
                pass

    return write


@pytest.fixture
def raw_sql(app: Flask) -> Callable[..., Any]:
    """Run SQL directly against the database, as an attacker with database access would."""

    def run(statement: str, **params: Any) -> Any:
        with get_db(app).engine.begin() as connection:
            return connection.execute(text(statement), params)

    return run
