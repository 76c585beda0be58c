"""Which tables own data keys: the one list that rotation, ``keys check`` and ``keys status`` use.

It is read from the models, not written down: every mapped class that mixes in DataKeyOwner
(cases and users today, and any table added later) is found, so a new owner cannot be left out
of re-wrapping or of the checks.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.crypto.fields import DataKeyOwner


def data_key_owners() -> tuple[type[DataKeyOwner], ...]:
    """Every model whose table holds wrapped data keys, ordered by table name."""
    from casework.db import Base, import_all_models

    import_all_models()
    owners: dict[str, type[DataKeyOwner]] = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if not issubclass(cls, DataKeyOwner):
            continue
        column = mapper.columns.get("wrapped_key")
        # The class whose own table has the column (a subclass of it shares the row).
        if column is not None and column.table is mapper.local_table:
            owners[mapper.local_table.name] = cls
    return tuple(owners[name] for name in sorted(owners))


def wrapped_counts(db: Session) -> dict[str, dict[str | None, int]]:
    """Per owner table, how many data keys each master key id wraps (None: no id recorded)."""
    counts: dict[str, dict[str | None, int]] = {}
    for owner in data_key_owners():
        rows = db.execute(
            select(owner.wrapping_key_id, func.count())
            .where(owner.wrapped_key.is_not(None))
            .group_by(owner.wrapping_key_id)
        ).all()
        counts[owner.__tablename__] = {key_id: count for key_id, count in rows}
    return counts


def wrapped_under(db: Session, key_id: str) -> dict[str, int]:
    """Per owner table, how many data keys ``key_id`` still wraps (tables with none omitted)."""
    found = {}
    for owner in data_key_owners():
        count = db.execute(select(func.count()).select_from(owner).where(owner.wrapping_key_id == key_id)).scalar_one()
        if count:
            found[owner.__tablename__] = count
    return found
