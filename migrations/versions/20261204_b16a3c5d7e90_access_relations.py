"""access relations: break-glass caps, ends and notices; encrypted staff free text and reasons;
per-organisation blind indexes; server-side TOTP enrolment

Schema: ``break_glass_daily_counts`` (the per-supervisor daily cap), ``notifications`` (notices
to an organisation's supervisors), ``break_glass_access.ended_at/ended_by_id``, organisations'
data keys, users' pending TOTP secret.

Data (needs the keyring: run through ``flask --app wsgi db upgrade``, which ``scripts/run`` and
``scripts/serve`` do):
- ``legal_assistance.representative``, ``medical_assistance.referred_to``,
  ``return_assistance.reception_organisation`` and ``break_glass_access.reason`` are encrypted
  under their case's data key (an erased case's are dropped: their key is gone);
  ``cases.erasure_reason`` under its organisation's new data key (it must outlive the case's);
- every live case's blind indexes are recomputed under its organisation's own key (HKDF of the
  keyring's blind-index key), so existing cases keep being found by search and duplicate checks.
The plaintext columns are dropped. Downgrade decrypts them back and re-indexes under the
deployment-wide key.

Revision ID: b16a3c5d7e90
Revises: 7c2b9e4d1a06
Create Date: 2026-12-04 16:07:43
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = 'b16a3c5d7e90'
down_revision: str | None = '4b8e1f2c9d35'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, plaintext length) of staff free text encrypted under the case's key.
SERVICE_TEXT = (
    ('legal_assistance', 'representative', 200),
    ('medical_assistance', 'referred_to', 200),
    ('return_assistance', 'reception_organisation', 200),
)
BATCH = 500
IDENTITY = ('given_name', 'family_name', 'date_of_birth', 'document_number')


def _keyring() -> Any:
    from flask import has_app_context

    if not has_app_context():
        raise RuntimeError(
            'this migration encrypts existing rows and needs the keyring: run `flask --app wsgi db upgrade`'
        )
    from casework.crypto import get_keyring

    return get_keyring()


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _rows(bind: Any, query: sa.Select[Any]) -> Iterator[Any]:
    """All rows of ``query`` (ordered by its first column), fetched in batches."""
    last = None
    key = query.selected_columns[0]
    while True:
        page = query.order_by(key).limit(BATCH)
        if last is not None:
            page = page.where(key > last)
        rows = bind.execute(page).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _table(name: str, *columns: tuple[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(column, type_) for column, type_ in columns))


CASES = _table(
    'cases',
    ('id', sa.Uuid()),
    ('owner_org_id', sa.Uuid()),
    ('wrapped_key', sa.LargeBinary()),
    ('given_name', sa.LargeBinary()),
    ('family_name', sa.LargeBinary()),
    ('date_of_birth', sa.LargeBinary()),
    ('document_number', sa.LargeBinary()),
    ('name_bidx', sa.String()),
    ('name_dob_bidx', sa.String()),
    ('document_bidx', sa.String()),
)
SERVICES = _table('services', ('id', sa.Uuid()), ('case_id', sa.Uuid()))
ERASURE_REASONS = _table(
    'cases',
    ('id', sa.Uuid()),
    ('owner_org_id', sa.Uuid()),
    ('erasure_reason', sa.String()),
    ('erasure_reason_sealed', sa.LargeBinary()),
)
ORGANISATIONS = _table(
    'organisations', ('id', sa.Uuid()), ('wrapped_key', sa.LargeBinary()), ('wrapping_key_id', sa.String())
)


# SQLite: never let batch mode rebuild a parent table (cases, users, organisations): it drops the
# old table, and with foreign keys on that DROP deletes every row that references a case ON
# DELETE CASCADE (services, notes, ...) or fails on the others.
# SQLite 3.35+ drops and renames a column in place.
def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def _rename_column(table: str, old: str, new: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} RENAME COLUMN {old} TO {new}')
    else:
        op.alter_column(table, old, new_column_name=new)


# -- upgrade ---------------------------------------------------------------------------------------
def upgrade() -> None:
    op.create_table(
        'break_glass_daily_counts',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('grants', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_break_glass_daily_counts_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_break_glass_daily_counts')),
    )
    op.create_table(
        'notifications',
        sa.Column('organisation_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('actor_id', sa.Uuid(), nullable=True),
        sa.Column('case_id', sa.Uuid(), nullable=True),
        sa.Column('subject_user_id', sa.Uuid(), nullable=True),
        sa.Column('break_glass_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users')),
        sa.ForeignKeyConstraint(
            ['break_glass_id'],
            ['break_glass_access.id'],
            name=op.f('fk_notifications_break_glass_id_break_glass_access'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_notifications_organisation_id_organisations')
        ),
        sa.ForeignKeyConstraint(['subject_user_id'], ['users.id'], name=op.f('fk_notifications_subject_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_break_glass_id'), ['break_glass_id'], unique=False)
        batch_op.create_index('ix_notifications_org_created', ['organisation_id', 'created_at'], unique=False)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wrapped_key', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('wrapping_key_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('key_destroyed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_organisations_wrapping_key_id'), ['wrapping_key_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_pending_secret', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('break_glass_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_by_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_break_glass_access_ended_by_id_users'), 'users', ['ended_by_id'], ['id']
        )

    # Plaintext columns become ciphertext: a new column is filled, the old one dropped.
    targets = [(table, column) for table, column, _length in SERVICE_TEXT]
    targets += [('break_glass_access', 'reason'), ('cases', 'erasure_reason')]
    for table, column in targets:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(f'{column}_sealed', sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    _seal_case_owned(bind)
    _seal_erasure_reasons(bind)
    _reindex(bind, organisation_keys=True)
    for table, column in targets:
        _drop_column(table, column)
        _rename_column(table, f'{column}_sealed', column)


def _encrypt(aead: Any, table: str, column: str, row_id: uuid.UUID, value: Any) -> Any:
    from casework.crypto.migration import seal_text

    return seal_text(aead, table, column, row_id, str(value))


def _decrypt(aead: Any, table: str, column: str, row_id: uuid.UUID, value: Any) -> Any:
    from casework.crypto.migration import open_text

    return open_text(aead, table, column, row_id, value)


def _seal_case_owned(bind: Any, seal: bool = True) -> None:
    """Service free text and break-glass reasons under their case's key: ``seal`` encrypts
    ``<column>`` into ``<column>_sealed`` (a case whose key is gone keeps nothing); otherwise
    decrypts ``<column>_sealed`` back into ``<column>``."""
    keys = None
    for table, column, _length in (*SERVICE_TEXT, ('break_glass_access', 'reason', 1000)):
        source = _table(table, ('id', sa.Uuid()), (column, sa.String()), (f'{column}_sealed', sa.LargeBinary()))
        value_column, target = (column, f'{column}_sealed') if seal else (f'{column}_sealed', column)
        query = (
            sa.select(source.c.id, source.c[value_column], CASES.c.id, CASES.c.wrapped_key)
            .select_from(_join_case(source, table))
            .where(source.c[value_column].is_not(None))
        )
        for row_id, value, case_id, wrapped in list(_rows(bind, query)):
            result = None
            if wrapped is not None:
                if keys is None:
                    from casework.crypto.migration import RowKeys

                    keys = RowKeys(_keyring(), 'cases')
                transform = _encrypt if seal else _decrypt
                result = transform(keys.key(_uuid(case_id), wrapped), table, column, _uuid(row_id), value)
            bind.execute(sa.update(source).where(source.c.id == row_id).values({target: result}))


def _join_case(source: sa.TableClause, table: str) -> Any:
    """``source`` joined to its case (through the service row, or the grant's own case_id)."""
    if table == 'break_glass_access':
        owner = _table(table, ('id', sa.Uuid()), ('case_id', sa.Uuid())).alias('owner')
        return source.join(owner, owner.c.id == source.c.id).join(CASES, CASES.c.id == owner.c.case_id)
    return source.join(SERVICES, SERVICES.c.id == source.c.id).join(CASES, CASES.c.id == SERVICES.c.case_id)


def _seal_erasure_reasons(bind: Any) -> None:
    """Erasure reasons under their organisation's new data key (the case's is gone)."""
    source = ERASURE_REASONS
    query = sa.select(source.c.id, source.c.owner_org_id, source.c.erasure_reason).where(
        source.c.erasure_reason.is_not(None)
    )
    rows = list(_rows(bind, query))
    if not rows:
        return
    from casework.crypto.migration import RowKeys

    keys = RowKeys(_keyring(), 'organisations', bind)
    stored = dict(bind.execute(sa.select(ORGANISATIONS.c.id, ORGANISATIONS.c.wrapped_key)).all())
    for case_id, org_id, value in rows:
        org_id = _uuid(org_id)
        if stored.get(org_id) is None:
            wrapped, key_id = keys.new(org_id)
            bind.execute(
                sa.update(ORGANISATIONS)
                .where(ORGANISATIONS.c.id == org_id)
                .values(wrapped_key=wrapped, wrapping_key_id=key_id)
            )
            stored[org_id] = wrapped
        aead = keys.key(org_id, stored[org_id])
        sealed = _encrypt(aead, 'cases', 'erasure_reason', _uuid(case_id), value)
        bind.execute(sa.update(source).where(source.c.id == case_id).values(erasure_reason_sealed=sealed))


def _reindex(bind: Any, organisation_keys: bool) -> None:
    """Recompute every live case's blind indexes, under its organisation's key (upgrade) or
    the deployment-wide key (downgrade)."""
    query = sa.select(
        CASES.c.id,
        CASES.c.owner_org_id,
        CASES.c.wrapped_key,
        CASES.c.given_name,
        CASES.c.family_name,
        CASES.c.date_of_birth,
        CASES.c.document_number,
    ).where(CASES.c.wrapped_key.is_not(None))
    rows = _rows(bind, query)
    first = next(rows, None)
    if first is None:
        return
    from casework.crypto import blind_index
    from casework.crypto.migration import RowKeys

    keyring = _keyring()
    keys = RowKeys(keyring, 'cases')
    for row in (first, *rows):
        case_id, org_id = _uuid(row[0]), _uuid(row[1])
        aead = keys.key(case_id, row[2])
        plain = {
            name: (_decrypt(aead, 'cases', name, case_id, value) if value is not None else None)
            for name, value in zip(IDENTITY, row[3:], strict=True)
        }
        key = blind_index.organisation_key(org_id, keyring) if organisation_keys else keyring.blind_index_key
        born = date.fromisoformat(plain['date_of_birth']).isoformat() if plain['date_of_birth'] else None
        bind.execute(
            sa.update(CASES)
            .where(CASES.c.id == row[0])
            .values(
                name_bidx=blind_index.name_index(plain['given_name'], plain['family_name'], key),
                name_dob_bidx=blind_index.name_dob_index(plain['given_name'], plain['family_name'], born, key),
                document_bidx=blind_index.document_index(plain['document_number'], key),
            )
        )


# -- downgrade -------------------------------------------------------------------------------------
def downgrade() -> None:
    targets = [(table, column, length) for table, column, length in SERVICE_TEXT]
    targets += [('break_glass_access', 'reason', 1000), ('cases', 'erasure_reason', 1000)]
    for table, column, length in targets:
        _rename_column(table, column, f'{column}_sealed')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length), nullable=True))
    bind = op.get_bind()
    _unseal(bind)
    _reindex(bind, organisation_keys=False)
    # A reason whose case was erased cannot be read back: the old schema wants some text.
    bind.execute(sa.text("UPDATE break_glass_access SET reason = '[erased with the case]' WHERE reason IS NULL"))
    for table, column, _length in targets:
        _drop_column(table, f'{column}_sealed')
    with op.batch_alter_table('break_glass_access', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.String(1000), nullable=False)

    with op.batch_alter_table('break_glass_access', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_break_glass_access_ended_by_id_users'), type_='foreignkey')
        batch_op.drop_column('ended_by_id')
        batch_op.drop_column('ended_at')
    # users and organisations are parents of most tables: dropped in place, never rebuilt.
    _drop_column('users', 'totp_pending_at')
    _drop_column('users', 'totp_pending_secret')
    op.drop_index(op.f('ix_organisations_wrapping_key_id'), table_name='organisations')
    for column in ('key_destroyed_at', 'wrapping_key_id', 'wrapped_key'):
        _drop_column('organisations', column)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_org_created')
        batch_op.drop_index(batch_op.f('ix_notifications_break_glass_id'))
    op.drop_table('notifications')
    op.drop_table('break_glass_daily_counts')


def _unseal(bind: Any) -> None:
    """Decrypt the ciphertext columns (``<column>_sealed``) back into plaintext ``<column>``."""
    _seal_case_owned(bind, seal=False)
    source = ERASURE_REASONS
    rows = list(
        _rows(
            bind,
            sa.select(source.c.id, source.c.owner_org_id, source.c.erasure_reason_sealed).where(
                source.c.erasure_reason_sealed.is_not(None)
            ),
        )
    )
    if not rows:
        return
    from casework.crypto.migration import RowKeys

    keys = RowKeys(_keyring(), 'organisations', bind)
    stored = dict(bind.execute(sa.select(ORGANISATIONS.c.id, ORGANISATIONS.c.wrapped_key)).all())
    for case_id, org_id, sealed in rows:
        aead = keys.key(_uuid(org_id), stored[_uuid(org_id)])
        plain = _decrypt(aead, 'cases', 'erasure_reason', _uuid(case_id), sealed)
        bind.execute(sa.update(source).where(source.c.id == case_id).values(erasure_reason=plain))
