"""audit log as a Merkle tree with anchored checkpoints; sign-in counters counted in SQL (issue 17)

Audit log: events get their own MAC (a random ``nonce`` instead of the previous event's MAC,
unique ``mac``) and a ``leaf_index`` in the Merkle tree the sequencer builds;
``audit_checkpoints`` holds its signed checkpoints and ``audit_sequencer_lease`` the one
process that integrates. Existing events keep their chain MACs (``prev_mac``, now nullable
for new events) and ``audit_chain_head`` stays, frozen: `audit verify` checks the old chain up
to it, and the sequencer makes the existing events the first leaves of the tree, in id order,
at its first round. On PostgreSQL the id sequence continues after the last id written by the
former writer (which chose ids itself).

Sign-in counters: the per-address throttle becomes one ``login_throttles`` row per address,
counted by one atomic statement before the attempt is checked (the ``login_attempts`` rows were
counted in Python, so a burst went past the limit; they are short-lived and dropped). TOTP codes
are consumed through ``totp_used_steps`` (primary key user, step): one session per code.

Revision ID: a17c0f3e9b52
Revises: 15f07ab4d1e1
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a17c0f3e9b52'
down_revision: str | None = '15f07ab4d1e1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('leaf_index', sa.BigInteger(), nullable=True))
        batch_op.alter_column('prev_mac', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_mac'), ['mac'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_leaf_index'), ['leaf_index'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "COALESCE((SELECT max(id) FROM audit_events), 0) + 1, false)"
        )
    op.create_table('audit_checkpoints',
    sa.Column('tree_size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('frontier', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('tree_size', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('audit_sequencer_lease',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('holder', sa.String(length=160), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_sequencer_lease'))
    )
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
    # Events written since the upgrade have no place in the old chain: the downgrade refuses
    # rather than leave a log that `audit verify` of the old code calls broken.
    bind = op.get_bind()
    newer = bind.execute(sa.text('SELECT count(*) FROM audit_events WHERE prev_mac IS NULL')).scalar()
    if newer:
        raise RuntimeError(
            f'{newer} audit events were written after the upgrade (Merkle log): '
            'they cannot be put back into the old HMAC chain; downgrade refused'
        )
    op.drop_table('audit_sequencer_lease')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_leaf_index'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_mac'), type_='unique')
        batch_op.alter_column('prev_mac', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('leaf_index')
        batch_op.drop_column('nonce')
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
