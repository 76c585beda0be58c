"""tasks and deadlines, reminders (daily job claims, personal notices), tolerant name search

- ``tasks``: typed tasks, plan actions and deadlines derived from recorded dates (one task per
  ``(source_kind, source_id)``; filled for existing records by ``flask tasks sync``).
- ``job_runs``: the once-per-day claim of a scheduled job (primary key ``(job, day)``).
- ``notifications.user_id``/``counts``: a reminder to one person, with counts only.
- ``ix_cases_org_updated``: an organisation's cases by last change (the supervisor's work list).
- ``case_name_tokens``: blind indexes of name tokens, prefixes and phonetic keys (HMAC under
  the organisation's blind-index key); filled for existing cases by ``flask cases reindex-names``
  (names are encrypted: a migration cannot read them).

Revision ID: 6463f2489d92
Revises: a17c0f3e9b52
Create Date: 2026-12-04 19:12:58.497171
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '6463f2489d92'
down_revision: str | None = 'a17c0f3e9b52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('node', sa.String(length=100), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_job_runs'))
    )
    op.create_table('case_name_tokens',
    sa.Column('bidx', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.ForeignKeyConstraint(
        ['case_id'], ['cases.id'], name=op.f('fk_case_name_tokens_case_id_cases'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('bidx', 'case_id', name=op.f('pk_case_name_tokens'))
    )
    with op.batch_alter_table('case_name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_case_name_tokens_case_id', ['case_id'], unique=False)

    op.create_table('tasks',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('title_code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.LargeBinary(), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source_kind', sa.String(length=40), nullable=True),
    sa.Column('source_id', sa.Uuid(), nullable=True),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Uuid(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tasks_assignee_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tasks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_tasks_closed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tasks_created_by_id_users')),
    sa.ForeignKeyConstraint(
        ['service_id'], ['services.id'], name=op.f('fk_tasks_service_id_services'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('source_kind', 'source_id', name='uq_tasks_source')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tasks_assignee_status_due', ['assignee_id', 'status', 'due_on'], unique=False,
            postgresql_where=sa.text('assignee_id IS NOT NULL'), sqlite_where=sa.text('assignee_id IS NOT NULL'),
        )
        batch_op.create_index('ix_tasks_case_status_due', ['case_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_tasks_status_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_service_id'), ['service_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cases_org_updated', ['owner_org_id', 'updated_at'], unique=False,
            postgresql_where=sa.text('erased_at IS NULL'), sqlite_where=sa.text('erased_at IS NULL'),
        )

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('counts', sa.JSON(), nullable=True))
        batch_op.create_index('ix_notifications_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE'
        )



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_user_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_notifications_user_created')
        batch_op.drop_column('counts')
        batch_op.drop_column('user_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_org_updated', postgresql_where=sa.text('erased_at IS NULL'),
                            sqlite_where=sa.text('erased_at IS NULL'))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_service_id'))
        batch_op.drop_index('ix_tasks_status_due')
        batch_op.drop_index('ix_tasks_case_status_due')
        batch_op.drop_index('ix_tasks_assignee_status_due', postgresql_where=sa.text('assignee_id IS NOT NULL'),
                            sqlite_where=sa.text('assignee_id IS NOT NULL'))

    op.drop_table('tasks')
    with op.batch_alter_table('case_name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_case_name_tokens_case_id')

    op.drop_table('case_name_tokens')
    op.drop_table('job_runs')
