"""What the referral pages show, loaded in a fixed number of queries (never one per row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.orm import aliased

from casework import access
from casework.access import RedactedCase
from casework.assistance.models import Service
from casework.auth.models import Organisation, organisation_names
from casework.cases.models import Case, CaseNote
from casework.db import session
from casework.partners.models import Referral

REVOKE_CAUSE_LABELS = {
    "referring_org": _l("Revoked by the referring organisation"),
    "consent_withdrawn": _l("Revoked: the person withdrew consent"),
    "consent_refused": _l("Revoked: the person refused consent"),
    "case_erased": _l("Revoked: the case was erased"),
}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    when: datetime | date
    text: str


def timeline(referral: Referral, org_names: dict[uuid.UUID, str], staff_view: bool) -> list[TimelineEntry]:
    """The referral's history, as both sides see it (staff also see the override's reason)."""
    entries = [
        TimelineEntry(referral.created_at, _("Referred by %(org)s", org=org_names.get(referral.from_org_id, ""))),
    ]
    override = referral.override
    if override is not None:
        text = _("Rests on an emergency override without consent, until %(day)s", day=override.expires_on.isoformat())
        if staff_view and override.reason:
            text += " — " + str(override.reason)
        entries.append(TimelineEntry(override.created_at, text))
        if override.ended_at is not None:
            entries.append(TimelineEntry(override.ended_at, _("Emergency override ended")))
    if referral.responded_at is not None:
        to_org = org_names.get(referral.to_org_id, "")
        if referral.status == "declined":
            entries.append(TimelineEntry(referral.responded_at, _("Declined by %(org)s", org=to_org)))
        else:
            entries.append(TimelineEntry(referral.responded_at, _("Accepted by %(org)s", org=to_org)))
    consent = referral.consent
    if consent is not None and consent.withdrawn_on is not None:
        entries.append(TimelineEntry(consent.withdrawn_on, _("The person withdrew consent to share")))
    elif consent is not None and consent.expires_on is not None and consent.expires_on < date.today():
        entries.append(TimelineEntry(consent.expires_on, _("The person's consent to share expired")))
    if referral.completed_at is not None:
        entries.append(TimelineEntry(referral.completed_at, _("Completed")))
    if referral.revoked_at is not None:
        label = REVOKE_CAUSE_LABELS.get(referral.revoke_cause or "")
        entries.append(TimelineEntry(referral.revoked_at, str(label) if label is not None else _("Revoked")))
    return sorted(entries, key=_moment)


def _moment(entry: TimelineEntry) -> datetime:
    when = entry.when
    if isinstance(when, datetime):
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return datetime.combine(when, time.min, tzinfo=UTC)


# -- the lead organisation's section of the case file -------------------------------------------
@dataclass(slots=True)
class PartnerSection:
    """Referrals of a case. (Partners' notes show in the case file's own notes list.)"""

    case_id: uuid.UUID
    referrals: list[Referral]
    org_names: dict[uuid.UUID, str] = field(default_factory=dict)

    def org(self, org_id: uuid.UUID | None) -> str:
        return self.org_names.get(org_id, "") if org_id else ""


def section_data(case: RedactedCase | Case) -> PartnerSection | None:
    """Referrals of a case, two queries; None when the user may not see referrals."""
    if isinstance(case, RedactedCase) and not case.can_see("referrals"):
        return None
    referrals = list(
        session.execute(
            select(Referral).where(Referral.case_id == case.id).order_by(Referral.created_at.desc())
        ).scalars()
    )
    ids = {r.to_org_id for r in referrals} | {r.from_org_id for r in referrals}
    return PartnerSection(case.id, referrals, organisation_names(ids))


# -- the partner portal ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PortalRow:
    referral: Referral
    from_org: str
    case_reference: str | None  # only while the partner has access through the referral

    @property
    def live(self) -> bool:
        return self.case_reference is not None


PER_PAGE = 25
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class PortalFilters:
    status: str | None = None
    sent_from: date | None = None
    sent_to: date | None = None
    q: str | None = None
    page: int = 1


@dataclass(slots=True)
class Paged:
    """One page of a list: its rows, how many there are in all, which page."""

    rows: list[Any]
    total: int
    page: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _reference_condition(user: Any, q: str, on: date) -> ColumnElement[bool]:
    """A referral by its own reference (REF- and up to eight hex digits, any case), or by the
    reference of its case, only for a referral through which the partner sees that case now
    (a pending referral's case reference is never searchable: it would tell which case it is)."""
    text = q.strip().lower()
    digits = text.removeprefix("ref-")
    conditions: list[ColumnElement[bool]] = []
    if digits and len(digits) <= 8 and set(digits) <= _HEX:
        # The reference is the id's first eight hex digits (before the first hyphen on PostgreSQL).
        conditions.append(func.lower(cast(Referral.id, String)).like(digits + "%"))
    live_case = select(Case.id).where(Case.reference == q.strip().upper(), Case.erased_at.is_(None))
    conditions.append(and_(Referral.case_id.in_(live_case), access.partner_referral_condition(user, on)))
    return or_(*conditions)


def portal_page(user: Any, filters: PortalFilters, on: date | None = None) -> Paged:
    """One page of the referrals addressed to the user's organisation, newest first, filtered;
    the case reference only for those through which it may see the case now (accepted, basis
    in force, case not erased). A page past the end shows the last page."""
    on = on or date.today()
    conditions: list[ColumnElement[bool]] = [access.referral_scope(user)]
    if filters.status:
        conditions.append(Referral.status == filters.status)
    if filters.sent_from:
        conditions.append(Referral.created_at >= datetime.combine(filters.sent_from, time.min, tzinfo=UTC))
    if filters.sent_to:
        conditions.append(
            Referral.created_at < datetime.combine(filters.sent_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    if filters.q:
        conditions.append(_reference_condition(user, filters.q, on))
    total = session.execute(select(func.count(Referral.id)).where(*conditions)).scalar_one()
    paged = Paged([], total, filters.page)
    paged.page = min(filters.page, paged.pages)
    if total == 0:
        return paged
    from_org = aliased(Organisation)
    rows = session.execute(
        select(Referral, from_org.name)
        .join(from_org, from_org.id == Referral.from_org_id)
        .where(*conditions)
        .order_by(Referral.created_at.desc(), Referral.id)
        .limit(paged.per_page)
        .offset((paged.page - 1) * paged.per_page)
    ).all()
    ids = [referral.id for referral, _name in rows]
    live = dict(
        session.execute(
            select(Referral.id, Case.reference)
            .join(Case, Case.id == Referral.case_id)
            .where(Referral.id.in_(ids), Case.erased_at.is_(None), access.partner_referral_condition(user, on))
        ).all()
    )
    paged.rows = [PortalRow(referral, name, live.get(referral.id)) for referral, name in rows]
    return paged


# -- the partner's own services -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OwnService:
    service: Service
    case_reference: str


def own_services(user: Any, page: int = 1, case_id: uuid.UUID | None = None, on: date | None = None) -> Paged:
    """The services the user's organisation provides on the cases it may see now (through an
    accepted referral whose basis is in force), most recently changed first: codes, dates and
    the case reference only (the records themselves open through the assistance pages)."""
    on = on or date.today()
    live_cases = select(Referral.case_id).where(access.partner_referral_condition(user, on))
    conditions: list[ColumnElement[bool]] = [
        Service.provider_org_id == user.organisation_id,
        Service.case_id.in_(live_cases),
        Case.erased_at.is_(None),
    ]
    if case_id is not None:
        conditions.append(Service.case_id == case_id)
    total = session.execute(
        select(func.count(Service.id)).join(Case, Case.id == Service.case_id).where(*conditions)
    ).scalar_one()
    paged = Paged([], total, page)
    paged.page = min(page, paged.pages)
    if total:
        rows = session.execute(
            select(Service, Case.reference)
            .join(Case, Case.id == Service.case_id)
            .where(*conditions)
            .order_by(Service.updated_at.desc(), Service.id)
            .limit(paged.per_page)
            .offset((paged.page - 1) * paged.per_page)
        ).all()
        paged.rows = [OwnService(service, reference) for service, reference in rows]
    return paged


# -- the partner's case page ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShownNote:
    note: CaseNote
    org: str
    text: str


def partner_notes(grant: access.CaseGrant) -> list[ShownNote]:
    """Notes a partner sees: its own organisation's, plus those the owner organisation marked
    for sharing when the referral scope includes shared notes. Never another partner's notes.
    Others' notes go through the grant's free-text rendering (masked for what it may not see)."""
    case, user = grant.case, grant.user
    mine = CaseNote.author_org_id == user.organisation_id
    query = select(CaseNote).where(CaseNote.case_id == case.id)
    if grant.can_see("shared_notes"):
        shared_by_owner = and_(CaseNote.shareable.is_(True), CaseNote.author_org_id == case.owner_org_id)
        query = query.where(or_(mine, shared_by_owner))
    else:
        query = query.where(mine)
    notes = list(session.execute(query.order_by(CaseNote.created_at)).scalars())
    names = organisation_names({n.author_org_id for n in notes})
    shown = []
    for note in notes:
        body = str(note.body or "")
        if note.author_org_id != user.organisation_id:
            body = grant.free_text(body) or ""
        shown.append(ShownNote(note, names.get(note.author_org_id, ""), body))
    return shown
