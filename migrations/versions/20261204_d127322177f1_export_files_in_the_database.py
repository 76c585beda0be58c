"""export files in the database: encrypted, in chunks, with expiry (casework.exports.storage)

Research export files were written to the instance folder of the host that made them, so the
download was a 404 on every other host. They now live in ``export_files`` (one per export run:
its data key wrapped by a master key, size, checksum, expiry) and ``export_chunks`` (the file
in sealed chunks). Files already on disk are not carried over: they expire within 24 hours of
being made and can be exported again.

Revision ID: d127322177f1
Revises: 7c2b9e4d1a06
Create Date: 2026-12-04 16:19:19.752898
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd127322177f1'
down_revision: str | None = 'b16a3c5d7e90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('export_files',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('wrapping_key_id', sa.String(length=40), nullable=True),
    sa.Column('key_destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['export_runs.id'], name=op.f('fk_export_files_id_export_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_files'))
    )
    with op.batch_alter_table('export_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_files_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_files_wrapping_key_id'), ['wrapping_key_id'], unique=False)

    op.create_table('export_chunks',
    sa.Column('file_id', sa.Uuid(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['export_files.id'], name=op.f('fk_export_chunks_file_id_export_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'seq', name=op.f('pk_export_chunks'))
    )


def downgrade() -> None:
    op.drop_table('export_chunks')
    with op.batch_alter_table('export_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_files_wrapping_key_id'))
        batch_op.drop_index(batch_op.f('ix_export_files_expires_at'))

    op.drop_table('export_files')
