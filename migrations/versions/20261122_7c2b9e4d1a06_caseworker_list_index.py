"""caseworker list index: a caseworker's live cases in list order, replacing the scope index

The old index (assignee, organisation, erased_at, opened_on, ...) served the count but not the
order: with ``erased_at IS NULL`` not an equality, PostgreSQL walked every case in date order
and filtered (page 20 of a caseworker's 2,000 cases read 27,000 rows). The partial index holds
live cases only, so the list's ORDER BY opened_on, reference is the index order.

Revision ID: 7c2b9e4d1a06
Revises: 1e935f5239b5
Create Date: 2026-11-22 03:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7c2b9e4d1a06'
down_revision: str | None = '1e935f5239b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text('erased_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cases_assignee_list',
            ['assigned_to_id', 'owner_org_id', 'opened_on', 'reference', 'status', 'id'],
            unique=False,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.drop_index('ix_cases_assignee_scope')


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cases_assignee_scope',
            ['assigned_to_id', 'owner_org_id', 'erased_at', 'opened_on', 'status', 'id'],
            unique=False,
        )
        batch_op.drop_index('ix_cases_assignee_list')
