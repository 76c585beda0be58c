"""legal assistance: the next hearing or court date (a derived deadline)

``legal_assistance.next_hearing_on`` (nullable date). Its deadline task is derived on flush
(casework.tasks.derived, source kind "hearing"); existing rows have no date, so nothing to
derive. Downgrade drops the column (the hearing tasks stay as ordinary tasks).

Revision ID: e3b8c41f5a27
Revises: 7a0a1674671f
Create Date: 2026-12-04 20:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e3b8c41f5a27'
down_revision: str | None = '7a0a1674671f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('legal_assistance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_hearing_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('legal_assistance', schema=None) as batch_op:
        batch_op.drop_column('next_hearing_on')
