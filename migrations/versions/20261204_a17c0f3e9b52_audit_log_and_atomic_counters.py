"""audit log as a Merkle tree with anchored checkpoints; sign-in counters counted in SQL (issue 17)

Sign-in counters: the per-address throttle becomes one ``login_throttles`` row per address,
counted by one atomic statement before the attempt is checked (the ``login_attempts`` rows were
counted in Python, so a burst went past the limit; they are short-lived and dropped). TOTP codes
are consumed through ``totp_used_steps`` (primary key user, step): one session per code.

Revision ID: a17c0f3e9b52
Revises: 5d1f0a7c3e21
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a17c0f3e9b52'
down_revision: str | None = '5d1f0a7c3e21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_window_started_at'), ['window_started_at'], unique=False)

    op.create_table('totp_used_steps',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('step', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_used_steps_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'step', name=op.f('pk_totp_used_steps'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_source'))
        batch_op.drop_index(batch_op.f('ix_login_attempts_attempted_at'))
    op.drop_table('login_attempts')


def downgrade() -> None:
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_source'), ['source'], unique=False)
    op.drop_table('totp_used_steps')
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_window_started_at'))
    op.drop_table('login_throttles')
