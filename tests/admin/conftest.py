"""Administration fixtures: a signed-in administrator and helpers to read rows back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from casework.db import session


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    return make_user("admin")


@pytest.fixture
def admin_client(app: Flask, admin: Any, login: Callable[..., Any]) -> Any:
    client = app.test_client()
    login(client, admin)
    return client


@pytest.fixture
def operator(make_user: Callable[..., Any]) -> Any:
    return make_user("operator", totp=True)


@pytest.fixture
def operator_client(app: Flask, operator: Any, login: Callable[..., Any]) -> Any:
    client = app.test_client()
    login(client, operator)
    return client


@pytest.fixture
def fetch(app: Flask) -> Callable[..., Any]:
    """Read a row back fresh from the database (outside any request)."""

    def get(model: type, row_id: Any) -> Any:
        with app.app_context():
            row = session.get(model, row_id)
            if row is not None:
                session.expunge(row)
            return row

    return get
