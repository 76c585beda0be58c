"""What happened to a case, and when: registration, notes, assistance, consents, referrals,
and the audited changes of the case, documents included (everything but views, downloads and
refusals).

One query per kind of record, never one per row. The first audit event of a record already
listed (same target, within a short time: the event of its creation) is not listed twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework import vocab
from casework.assistance.models import Service
from casework.audit.models import AuditEvent
from casework.auth.models import Organisation, User, display_name_of
from casework.cases.models import Case, CaseNote
from casework.consent.models import Consent
from casework.db import session
from casework.partners.models import Referral

MAX_AUDIT_EVENTS = 500
SAME_EVENT_WINDOW = timedelta(minutes=2)
# Reads are not events of the case's history (they stay in the audit log and its page).
HIDDEN_ACTIONS = ("case.view", "document.view", "document.download", "document.preview")

ACTION_LABELS: dict[str, Any] = {
    "case.register": _l("Case registered"),
    "case.edit": _l("Identity or coded profile changed"),
    "case.profile_edit": _l("Trafficking profile changed"),
    "case.note_add": _l("Note added"),
    "case.close": _l("Case closed"),
    "case.reopen": _l("Case reopened"),
    "case.assign": _l("Case assigned"),
    "case.erase": _l("Identifying data erased"),
    "case.break_glass": _l("Emergency access granted"),
    "summary.print": _l("Case summary printed"),
    "document.upload": _l("Document uploaded"),
    "document.replace": _l("Document replaced"),
    "document.delete": _l("Document deleted"),
    "case.break_glass_end": _l("Emergency access ended"),
    "case.subject_access": _l("Copy of the data given to the person"),
    "note.add": _l("Note added by a partner"),
    "service.create": _l("Assistance recorded"),
    "service.update": _l("Assistance changed"),
    "service.follow_up.create": _l("Follow-up visit recorded"),
    "consent.record": _l("Consent recorded"),
    "consent.withdraw": _l("Consent withdrawn"),
    "consent.override": _l("Emergency sharing without consent decided"),
    "consent.override_end": _l("Emergency sharing without consent ended"),
    "referral.create": _l("Referral made"),
    "referral.accept": _l("Referral accepted"),
    "referral.decline": _l("Referral declined"),
    "referral.complete": _l("Referral completed"),
    "referral.revoke": _l("Referral revoked"),
    "referral.consent_attached": _l("Consent attached to a referral"),
    # The case plan (casework.plans) and assessments (casework.assessments).
    "plan.goal_add": _l("Goal added to the case plan"),
    "plan.goal_edit": _l("Goal of the case plan changed"),
    "plan.action_add": _l("Action added to a goal of the case plan"),
    "plan_review.request": _l("Review of the case plan recorded, waiting for approval"),
    "plan_review.approved": _l("Review of the case plan approved"),
    "plan_review.rejected": _l("Review of the case plan sent back"),
    "closure.request": _l("Approval to close the case asked for"),
    "closure.approved": _l("Closure of the case approved"),
    "closure.rejected": _l("Closure of the case sent back"),
    "assessment.record": _l("Assessment recorded"),
    # Tasks (casework.tasks).
    "task.create": _l("Task added"),
    "task.update": _l("Task rescheduled or reassigned"),
    "task.done": _l("Task done"),
    "task.cancelled": _l("Task cancelled"),
    "task.reopen": _l("Task reopened"),
}


def _assessment_label(details: dict[str, Any]) -> str:
    kind = details.get("kind")
    if kind not in vocab.ASSESSMENT_KINDS:
        return str(ACTION_LABELS["assessment.record"])
    level = details.get("risk_level")
    if level in vocab.RISK_LEVELS:
        return _(
            "Assessment recorded: %(kind)s, version %(version)s, risk level %(level)s",
            kind=vocab.ASSESSMENT_KINDS.label(kind),
            version=details.get("version", ""),
            level=vocab.RISK_LEVELS.label(level),
        )
    return _(
        "Assessment recorded: %(kind)s, version %(version)s",
        kind=vocab.ASSESSMENT_KINDS.label(kind),
        version=details.get("version", ""),
    )


def _goal_label(details: dict[str, Any]) -> str:
    domain = details.get("domain")
    if domain not in vocab.PLAN_DOMAINS:
        return str(ACTION_LABELS["plan.goal_add"])
    return _("Goal added to the case plan: %(domain)s", domain=vocab.PLAN_DOMAINS.label(domain))


#: Actions whose words use their event's details (codes and counts only).
DETAILED_LABELS: dict[str, Callable[[dict[str, Any]], str]] = {
    "assessment.record": _assessment_label,
    "plan.goal_add": _goal_label,
}


def action_label(action: str, details: dict[str, Any] | None) -> str:
    """The words of an audited action on a case, in the reader's language."""
    detailed = DETAILED_LABELS.get(action)
    if detailed is not None:
        return detailed(details or {})
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else _("Recorded: %(action)s", action=action)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # registration | note | service | consent | referral | event
    label: str
    actor: str | None = None
    target_id: str | None = None


def _name(value: str | None) -> str | None:
    return value or None


def build_timeline(case: Case) -> list[TimelineEntry]:
    """Every entry of the case, newest first."""
    records = [*_registration(case), *_notes(case.id), *_services(case.id), *_consents(case.id)]
    records += _referrals(case.id)
    created_at = {entry.target_id: entry.at for entry in records if entry.target_id}
    entries = list(records)
    for event in _audit_events(case.id, created_at):
        entries.append(event)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _registration(case: Case) -> list[TimelineEntry]:
    creator = None
    if case.created_by_id is not None:
        creator = session.execute(select(display_name_of(case.created_by_id))).scalar()
    return [TimelineEntry(case.created_at, "registration", _("Case registered"), creator, str(case.id))]


def _notes(case_id: uuid.UUID) -> list[TimelineEntry]:
    rows = session.execute(
        select(CaseNote.id, CaseNote.created_at, CaseNote.shareable, User.display_name)
        .outerjoin(User, User.id == CaseNote.author_id)
        .where(CaseNote.case_id == case_id)
    )
    return [
        TimelineEntry(
            at,
            "note",
            _("Note added (shared with partners)") if shareable else _("Note added"),
            _name(author),
            str(note_id),
        )
        for note_id, at, shareable, author in rows
    ]


def _services(case_id: uuid.UUID) -> list[TimelineEntry]:
    rows = session.execute(
        select(Service.id, Service.kind, Service.status, Service.created_at, User.display_name)
        .outerjoin(User, User.id == Service.created_by_id)
        .where(Service.case_id == case_id)
    )
    return [
        TimelineEntry(
            at,
            "service",
            _(
                "Assistance recorded: %(kind)s (%(status)s)",
                kind=vocab.SERVICE_KINDS.label(kind),
                status=vocab.SERVICE_STATUSES.label(status),
            ),
            _name(author),
            str(service_id),
        )
        for service_id, kind, status, at, author in rows
    ]


def _consents(case_id: uuid.UUID) -> list[TimelineEntry]:
    rows = session.execute(
        select(
            Consent.id,
            Consent.purpose,
            Consent.decision,
            Consent.recorded_at,
            Consent.withdrawal_recorded_at,
            User.display_name,
        )
        .outerjoin(User, User.id == Consent.recorded_by_id)
        .where(Consent.case_id == case_id)
    )
    entries = []
    for consent_id, purpose, decision, recorded_at, withdrawn_at, recorder in rows:
        purpose_label = vocab.CONSENT_PURPOSES.label(purpose)
        entries.append(
            TimelineEntry(
                recorded_at,
                "consent",
                _(
                    "Consent recorded: %(purpose)s, %(decision)s",
                    purpose=purpose_label,
                    decision=vocab.CONSENT_DECISIONS.label(decision),
                ),
                _name(recorder),
                str(consent_id),
            )
        )
        if withdrawn_at is not None:
            entries.append(
                TimelineEntry(withdrawn_at, "consent", _("Consent withdrawn: %(purpose)s", purpose=purpose_label))
            )
    return entries


def _referrals(case_id: uuid.UUID) -> list[TimelineEntry]:
    rows = session.execute(
        select(
            Referral.id,
            Referral.service_kind,
            Referral.status,
            Referral.created_at,
            Referral.responded_at,
            Organisation.name,
        )
        .join(Organisation, Organisation.id == Referral.to_org_id)
        .where(Referral.case_id == case_id)
    )
    entries = []
    for referral_id, kind, status, created_at, responded_at, organisation in rows:
        kind_label = vocab.SERVICE_KINDS.label(kind)
        entries.append(
            TimelineEntry(
                created_at,
                "referral",
                _("Referred to %(organisation)s for %(kind)s", organisation=organisation, kind=kind_label),
                None,
                str(referral_id),
            )
        )
        if responded_at is not None:
            entries.append(
                TimelineEntry(
                    responded_at,
                    "referral",
                    _(
                        "Referral to %(organisation)s: %(status)s",
                        organisation=organisation,
                        status=vocab.REFERRAL_STATUSES.label(status),
                    ),
                )
            )
    return entries


def _audit_events(case_id: uuid.UUID, created_at: dict[str, datetime]) -> list[TimelineEntry]:
    rows = session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.target_id, User.display_name, AuditEvent.details)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.case_id == case_id,
            AuditEvent.outcome == "ok",
            AuditEvent.action.not_in(HIDDEN_ACTIONS),
        )
        .order_by(AuditEvent.id.desc())
        .limit(MAX_AUDIT_EVENTS)
    )
    entries = []
    consumed: set[str] = set()
    for at, action, target_id, actor, details in reversed(list(rows)):  # oldest first
        record_at = created_at.get(target_id or "")
        if target_id not in consumed and record_at is not None and abs(at - record_at) <= SAME_EVENT_WINDOW:
            consumed.add(target_id)  # the event that created a record listed above
            continue
        entries.append(TimelineEntry(at, "event", action_label(action, details), _name(actor), target_id))
    return entries
