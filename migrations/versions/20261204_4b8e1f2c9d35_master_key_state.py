"""master key state: which master key wraps new data keys, deployment-wide, and what each app
process holds (casework.crypto.models; the rotation protocol in casework.crypto.rotation)

No data is transformed. The migration cannot read the keyring file, so the state is recorded at
the first start after it (`keys check`, run by scripts/serve and every gunicorn worker): the
keyring file's newest master key is the active one, as it was for every host before.

Revision ID: 4b8e1f2c9d35
Revises: 7c2b9e4d1a06
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '4b8e1f2c9d35'
down_revision: str | None = '7c2b9e4d1a06'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('keyring_processes',
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('key_ids', sa.Text(), nullable=False),
    sa.Column('active_key_id', sa.String(length=40), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=True),
    sa.Column('poll_seconds', sa.Float(), nullable=False),
    sa.Column('problem', sa.String(length=300), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_keyring_processes'))
    )
    with op.batch_alter_table('keyring_processes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_keyring_processes_last_seen'), ['last_seen'], unique=False)

    op.create_table('master_keys',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('drained_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'active', 'retiring', 'retired')", name=op.f('ck_master_keys_state')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_master_keys'))
    )
    op.create_table('keyring_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('active_key_id', sa.String(length=40), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_keyring_state_single_row')),
    sa.ForeignKeyConstraint(['active_key_id'], ['master_keys.key_id'], name=op.f('fk_keyring_state_active_key_id_master_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyring_state'))
    )


def downgrade() -> None:
    op.drop_table('keyring_state')
    op.drop_table('master_keys')
    with op.batch_alter_table('keyring_processes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_keyring_processes_last_seen'))

    op.drop_table('keyring_processes')
