"""research release policy: one policy and privacy budget ledger per organisation's dataset

The single global ``export_settings`` row (any organisation's supervisor changed the limits of
every organisation, and could lower them to k = 2) becomes one ``export_policies`` row per
organisation that holds cases, carrying over its limits raised to the system's floors (k >= 11,
smallest published count >= 10; the database refuses lower values). Export runs record the
dataset they released and the privacy budget they spent.

Revision ID: 5d1f0a7c3e21
Revises: 7c2b9e4d1a06
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '5d1f0a7c3e21'
down_revision: str | None = 'd127322177f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLOOR_K = 11
FLOOR_THRESHOLD = 10
DATASET_KINDS = ('lead_agency', 'government')
ALL_DIMENSIONS = [
    'year', 'gender', 'age_band', 'citizenship', 'country_of_exploitation', 'exploitation_type',
    'assistance_kind', 'assistance_status',
]


def upgrade() -> None:
    policies = op.create_table('export_policies',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('min_k', sa.Integer(), nullable=False),
    sa.Column('min_threshold', sa.Integer(), nullable=False),
    sa.Column('max_dimensions', sa.Integer(), nullable=False),
    sa.Column('allowed_dimensions', sa.JSON(), nullable=False),
    sa.Column('protection_width', sa.Integer(), nullable=False),
    sa.Column('noise_scale', sa.Float(), nullable=False),
    sa.Column('rounding_base', sa.Integer(), nullable=False),
    sa.Column('epsilon_budget', sa.Float(), nullable=False),
    sa.Column('delta_budget', sa.Float(), nullable=False),
    sa.Column('epsilon_spent', sa.Float(), nullable=False),
    sa.Column('delta_spent', sa.Float(), nullable=False),
    sa.Column('updated_by_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('epsilon_spent >= 0 AND delta_spent >= 0', name=op.f('ck_export_policies_spent_non_negative')),
    sa.CheckConstraint('min_k >= 11', name=op.f('ck_export_policies_min_k_floor')),
    sa.CheckConstraint('min_threshold >= 10', name=op.f('ck_export_policies_min_threshold_floor')),
    sa.CheckConstraint('noise_scale >= 1', name=op.f('ck_export_policies_noise_scale_floor')),
    sa.CheckConstraint('protection_width >= 1', name=op.f('ck_export_policies_protection_width_positive')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_export_policies_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_export_policies_updated_by_id_users')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_export_policies'))
    )
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('epsilon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('delta', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_export_runs_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_export_runs_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id']
        )

    # The old limits carry over to every dataset, raised to the floors.
    connection = op.get_bind()
    old = connection.execute(
        sa.text('SELECT min_k, min_threshold, max_dimensions, allowed_dimensions, updated_by_id, updated_at '
                'FROM export_settings WHERE id = 1')
    ).first()
    if old is not None:
        allowed = old.allowed_dimensions
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        organisations = connection.execute(
            sa.text('SELECT id FROM organisations WHERE kind IN :kinds').bindparams(sa.bindparam('kinds', expanding=True)),
            {'kinds': list(DATASET_KINDS)},
        ).scalars().all()
        if organisations:
            op.bulk_insert(policies, [
                {
                    'organisation_id': org_id,
                    'min_k': max(int(old.min_k), FLOOR_K),
                    'min_threshold': max(int(old.min_threshold), FLOOR_THRESHOLD),
                    'max_dimensions': min(max(int(old.max_dimensions), 1), 3),
                    'allowed_dimensions': list(allowed or ALL_DIMENSIONS),
                    'protection_width': 3,
                    'noise_scale': 2.0,
                    'rounding_base': 1,
                    'epsilon_budget': 0.0,
                    'delta_budget': 1e-5,
                    'epsilon_spent': 0.0,
                    'delta_spent': 0.0,
                    'updated_by_id': old.updated_by_id,
                    'updated_at': old.updated_at,
                    'version_id': 1,
                }
                for org_id in organisations
            ])
    op.drop_table('export_settings')


def downgrade() -> None:
    settings = op.create_table('export_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('min_k', sa.Integer(), nullable=False),
    sa.Column('min_threshold', sa.Integer(), nullable=False),
    sa.Column('max_dimensions', sa.Integer(), nullable=False),
    sa.Column('allowed_dimensions', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_export_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_settings'))
    )
    # One global row again: the strictest of the organisations' limits.
    connection = op.get_bind()
    row = connection.execute(
        sa.text('SELECT MAX(min_k), MAX(min_threshold), MIN(max_dimensions) FROM export_policies')
    ).first()
    if row is not None and row[0] is not None:
        op.bulk_insert(settings, [{
            'id': 1, 'min_k': row[0], 'min_threshold': row[1], 'max_dimensions': row[2],
            'allowed_dimensions': ALL_DIMENSIONS, 'updated_by_id': None,
            'updated_at': datetime.now(UTC), 'version_id': 1,
        }])
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_export_runs_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_export_runs_organisation_id'))
        batch_op.drop_column('delta')
        batch_op.drop_column('epsilon')
        batch_op.drop_column('organisation_id')
    op.drop_table('export_policies')
