"""Erasure (crypto-shredding) of a case, and the retention rule that erases closed cases.

Erasing a case destroys its data key: every encrypted value of the case, its profile,
services, consents, referrals, notes and documents then reads as ERASED, in the database and in every
backup. The blind indexes are cleared; the coded analytic fields stay only when the person's
consent to anonymised research was in force (else they are cleared too); plain free-text
fields that could name the person's circle are cleared; open referrals are revoked.

On SQLite, erasure turns on ``secure_delete`` (freed bytes are zeroed) and :func:`wipe`
checkpoints the WAL so that no old copy of the wrapped key stays in the files. On PostgreSQL
old row versions remain until VACUUM: run ``VACUUM`` regularly (see the README).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, delete, exists, func, select, text, update

from casework import access, vocab
from casework.audit import writer as audit
from casework.audit.models import AuditEvent
from casework.auth.models import Organisation, display_names
from casework.cases.models import BreakGlassAccess, Case, CaseNameToken
from casework.consent import overrides
from casework.consent.forms import has_control_characters
from casework.consent.models import Consent
from casework.db import get_db, session, utcnow
from casework.documents import services as document_services
from casework.documents.store import store_for
from casework.partners import services as referral_services

MIN_REASON_CHARS = 20
MAX_REASON_CHARS = 1000
RETENTION_REASON = "retention policy"
CASE_CODED_FIELDS = ("gender", "age_at_registration", "citizenship", "country_of_exploitation", "identification_route")
PROFILE_CODED_FIELDS = (
    "exploitation_types", "labour_sectors", "sexual_exploitation_types", "means_of_control", "recruitment_type",
    "recruiter_relationships", "abducted", "age_at_recruitment", "age_at_exploitation_start",
    "exploitation_began_on", "exploitation_ended_on", "origin_country", "transit_countries", "exploitation_countries",
)  # fmt: skip


class ErasureError(ValueError):
    """Erasure refused; ``errors`` maps form fields to messages for the user."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("erasure refused: " + ", ".join(sorted(errors)))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ErasureResult:
    case_id: uuid.UUID
    reference: str
    research_data_kept: bool
    referrals_revoked: int


@dataclass(frozen=True, slots=True)
class RetentionItem:
    case_id: uuid.UUID
    reference: str
    organisation: str
    closed_on: date
    due_on: date


def validate_reason(reason: str | None) -> str:
    """The written reason, cleaned. Raises ErasureError."""
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON_CHARS:
        raise ErasureError({"reason": _("Give the reason in at least %(n)d characters.", n=MIN_REASON_CHARS)})
    if len(reason) > MAX_REASON_CHARS or has_control_characters(reason, multiline=False):
        raise ErasureError({"reason": _("Keep the reason under %(n)d characters of plain text.", n=MAX_REASON_CHARS)})
    return reason


def research_consent_active(case_id: uuid.UUID, on: date | None = None) -> bool:
    """The same condition the research export applies."""
    on = on or date.today()
    condition = exists().where(Consent.case_id == case_id, access.active_consent_condition("anonymised_research", on))
    return bool(session.execute(select(condition)).scalar())


def erase_case(
    case: Case, reason: str, actor: Any, trigger: str = "manual", reason_code: str = "other"
) -> ErasureResult:
    """Crypto-shred ``case``. Raises ErasureError (already erased, reason too short, a reason
    code not in ``vocab.ERASURE_REASONS``). Audited as ``case.erase`` with the reason code: the
    organisation's erasure record (:func:`erasure_records`). The caller commits, then calls
    :func:`wipe`."""
    if case.erased_at is not None:
        raise ErasureError({"": _("This case was already erased.")})
    if trigger == "retention":
        reason_code = "retention"
    if reason_code not in vocab.ERASURE_REASONS:
        raise ErasureError({"reason_code": _("Choose one of the listed options.")})
    reason = validate_reason(reason) if trigger == "manual" else reason
    _secure_delete_on()
    keep_coded = research_consent_active(case.id)
    revoked = referral_services.revoke_open_referrals(case, actor, cause="case_erased")
    overrides.end_overrides(case, actor, cause="case_erased")
    # Documents: their chunks are sealed with the key destroyed below; the rows and the chunks
    # go too (a file store's files once this commits).
    documents_shredded = document_services.shred_case(case, store_for())
    # Break-glass reasons are encrypted under the case's key (unreadable once it is gone);
    # their ciphertext goes too, and every emergency access ends now.
    now = utcnow()
    session.execute(
        update(BreakGlassAccess)
        .where(BreakGlassAccess.case_id == case.id)
        .values(reason_ct=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(BreakGlassAccess)
        .where(BreakGlassAccess.case_id == case.id, BreakGlassAccess.expires_at > now)
        .values(expires_at=now, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    case.destroy_data_key()
    case.name_bidx = case.name_dob_bidx = case.document_bidx = None
    session.execute(delete(CaseNameToken).where(CaseNameToken.case_id == case.id))
    if not keep_coded:
        for name in CASE_CODED_FIELDS:
            setattr(case, name, None)
        if case.profile is not None:
            for name in PROFILE_CODED_FIELDS:
                setattr(case.profile, name, None)
    case.erased_at = utcnow()
    case.erasure_reason = reason
    session.flush()
    audit.record(
        "case.erase",
        target=case,
        case_id=case.id,
        actor=actor,
        details={
            "trigger": trigger,
            "reason_code": reason_code,
            "research_data_kept": keep_coded,
            "referrals_revoked": revoked,
            "documents_shredded": documents_shredded,
        },
    )
    return ErasureResult(case.id, case.reference, keep_coded, revoked)


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """One erased case as its organisation's record shows it: no data of the person."""

    case_id: uuid.UUID
    reference: str
    erased_at: datetime
    erased_by: str | None  # None: the retention rule (no one)
    reason_code: str | None


def erasure_records(organisation_id: uuid.UUID, page: int = 1, per_page: int = 50) -> tuple[list[ErasureRecord], int]:
    """The organisation's erased cases, newest first, one page: reference, when, who (from the
    audit chain's ``case.erase`` event) and the reason code. Returns (records, total)."""
    erased = and_(Case.owner_org_id == organisation_id, Case.erased_at.is_not(None))
    total = session.execute(select(func.count(Case.id)).where(erased)).scalar_one()
    cases = session.execute(
        select(Case.id, Case.reference, Case.erased_at)
        .where(erased)
        .order_by(Case.erased_at.desc(), Case.reference)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    events: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, Any]]] = {}
    for case_id, actor_id, details in session.execute(
        select(AuditEvent.case_id, AuditEvent.actor_id, AuditEvent.details)
        .where(
            AuditEvent.case_id.in_([row.id for row in cases]),
            AuditEvent.action == "case.erase",
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.id)
    ):
        events[case_id] = (actor_id, details or {})  # the latest wins
    names = display_names({actor for actor, _details in events.values() if actor is not None})
    records = []
    for row in cases:
        actor_id, details = events.get(row.id, (None, {}))
        code = details.get("reason_code") or ("retention" if details.get("trigger") == "retention" else None)
        name = names.get(actor_id) if actor_id is not None else None
        records.append(ErasureRecord(row.id, row.reference, row.erased_at, name, code))
    return records, total


def _secure_delete_on() -> None:
    """SQLite: zero freed bytes on this connection, so overwritten keys leave no copy."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete=ON")


def wipe() -> None:
    """After the erasure committed: fold the SQLite WAL into the database and truncate it
    (old page images in the WAL could still hold the destroyed key). No-op elsewhere."""
    database = get_db()
    if database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA secure_delete=ON")
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


# -- retention ----------------------------------------------------------------------------------
def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def due_for_retention(today: date | None = None) -> list[RetentionItem]:
    """Closed, not yet erased cases of organisations with a retention period that has passed."""
    today = today or date.today()
    rows = session.execute(
        select(Case.id, Case.reference, Case.closed_on, Organisation.name, Organisation.retention_years)
        .join(Organisation, Organisation.id == Case.owner_org_id)
        .where(
            Organisation.retention_years.is_not(None),
            Case.status == "closed",
            Case.closed_on.is_not(None),
            Case.erased_at.is_(None),
        )
        .order_by(Case.closed_on, Case.reference)
    ).all()
    items = []
    for case_id, reference, closed_on, org_name, years in rows:
        due_on = add_years(closed_on, years)
        if due_on <= today:
            items.append(RetentionItem(case_id, reference, org_name, closed_on, due_on))
    return items


def apply_retention(today: date | None = None, dry_run: bool = False) -> list[RetentionItem]:
    """Erase every case due (committing one by one), or with ``dry_run`` only list them."""
    items = due_for_retention(today)
    if dry_run:
        return items
    for item in items:
        case = session.get(Case, item.case_id)
        if case is None or case.erased_at is not None:
            continue
        erase_case(case, RETENTION_REASON, actor=None, trigger="retention")
        session.commit()
    if items:
        wipe()
    return items
