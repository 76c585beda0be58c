"""Audit fixtures: a chain with some events, raw SQL access for tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from casework.audit import writer
from casework.db import get_db, session


@pytest.fixture
def write_events(app: Flask) -> Callable[..., None]:
    """Append ``count`` events through the real writer."""

    def write(count: int, action: str = "test.event", **kwargs: Any) -> None:
        with app.app_context():
            for number in range(count):
                writer.record(action, details={"n": number}, **kwargs)
            session.commit()

    return write


@pytest.fixture
def raw_sql(app: Flask) -> Callable[..., Any]:
    """Run SQL directly against the database, as an attacker with database access would."""

    def run(statement: str, **params: Any) -> Any:
        with get_db(app).engine.begin() as connection:
            return connection.execute(text(statement), params)

    return run
