"""caseworker scope index: a covering index for a caseworker's own cases (count and first page)

Revision ID: 1e935f5239b5
Revises: 2ea00e8cbd51
Create Date: 2026-11-21 22:19:36.488217
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '1e935f5239b5'
down_revision: str | None = '2ea00e8cbd51'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_assignee_scope', ['assigned_to_id', 'owner_org_id', 'erased_at', 'opened_on', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_assignee_scope')
