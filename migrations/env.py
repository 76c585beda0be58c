"""Alembic environment: the app's metadata, the app's engine (passed in by casework.migrate)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import TypeDecorator

from casework.db import Base, import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render casework's TypeDecorators as their plain SQL types in migration files."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl if not isinstance(obj.impl, type) else obj.impl()
        if type(impl).__name__ == "DateTime":
            return "sa.DateTime(timezone=True)"
        return f"sa.{impl!r}"
    return False


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from casework import create_app
        from casework.db import get_db

        engine = get_db(create_app()).engine
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
