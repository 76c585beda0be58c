"""Reading audit events back in tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session


def audit_events(app: Flask, action: str | None = None, **filters: Any) -> list[AuditEvent]:
    """Events (oldest first), optionally of one action and with equal column values."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        for column, value in filters.items():
            query = query.where(getattr(AuditEvent, column) == value)
        events = list(session.execute(query).scalars())
        session.expunge_all()
        return events
