"""Assistance business rules: load, list, create and change service records.

Services validate, change, audit and flush; they never commit (the view commits once).

Status rule
    needed      -> referred | in_progress | provided | declined
    referred    -> needed | in_progress | provided | declined   (a referral that fell through)
    in_progress -> referred | provided | declined                (handed over, done, or refused)
    provided, declined: final. Only a user holding Permission.SERVICE_REOPEN (supervisors) may
    move a final service to any other status: reopen it, or correct provided <-> declined.
    Keeping the status is always allowed; a new record may start in any status (assistance is
    often recorded after it was given).

Provider rule
    Staff choose their case's organisation or an active partner organisation (or none). A
    partner always records itself as the provider. The referral is linked when the provider
    received an accepted referral of the case (preferring one for the same kind of service).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import with_polymorphic
from sqlalchemy.orm.exc import StaleDataError

from casework import access, vocab
from casework.access import Permission, Role
from casework.assistance.models import SERVICE_MODELS, ReintegrationAssistance, ReintegrationFollowUp, Service
from casework.audit import writer as audit
from casework.auth.models import Organisation
from casework.cases.models import Case
from casework.db import session
from casework.partners.models import Referral

FINAL_STATUSES = frozenset({"provided", "declined"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "needed": frozenset({"referred", "in_progress", "provided", "declined"}),
    "referred": frozenset({"needed", "in_progress", "provided", "declined"}),
    "in_progress": frozenset({"referred", "provided", "declined"}),
    "provided": frozenset(),
    "declined": frozenset(),
}
PROVIDER_ORG_KINDS = ("partner_ngo", "government")
LINKABLE_REFERRAL_STATUSES = ("accepted", "completed")


class ServiceRefused(Exception):
    """A business rule refused the change. ``str()`` is for the user; ``field`` is the form
    field the message belongs next to (None: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class VersionConflict(Exception):
    """The record was changed by someone else since the user's form was built."""


# -- loading ---------------------------------------------------------------------------------------
def load_service(service_id: uuid.UUID, permission: Permission, user: Any = None) -> tuple[Service, access.CaseGrant]:
    """Load one service for ``user`` (the current user by default), with the user's grant on
    its case.

    Aborts 404 when the service does not exist, its case is outside the user's scope, or the
    user is a partner and the service is not provided by its organisation; 403 when the case
    is in scope but the user's relation does not allow ``permission`` (see
    :func:`access.load_case`).
    """
    user = user if user is not None else current_user
    every_kind = with_polymorphic(Service, list(SERVICE_MODELS.values()))
    service = session.execute(select(every_kind).where(every_kind.id == service_id)).scalar_one_or_none()
    if service is None:
        abort(404)
    grant = access.load_case(service.case_id, permission, user=user)
    if not access.may_reach_service(user, service.provider_org_id):
        access.refuse("service.load", case_id=service.case_id, status=404, reason="provider")
    return service, grant


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One line of a case's assistance table: codes, dates and the provider's name only."""

    id: uuid.UUID
    kind: str
    status: str
    provider_name: str | None
    started_on: date | None
    ended_on: date | None


def services_for_case(case: access.RedactedCase | uuid.UUID, user: Any) -> list[ServiceRow]:
    """The services of a case that ``user`` may see, oldest first, as table rows (one query on
    the base table; no kind's own fields, nothing encrypted). ``case``: the view of the user's
    grant (already decided: its permissions say whether the user reads the case), or a case id
    (then scoped here). Empty when the user may not read the case."""
    stmt = (
        select(Service.id, Service.kind, Service.status, Organisation.name, Service.started_on, Service.ended_on)
        .outerjoin(Organisation, Organisation.id == Service.provider_org_id)
        .where(access.service_scope(user))
        .order_by(Service.created_at, Service.id)
    )
    if isinstance(case, access.RedactedCase):
        if not case.may(Permission.CASE_READ):
            return []
        stmt = stmt.where(Service.case_id == case.id)
    else:
        stmt = stmt.join(Case, Case.id == Service.case_id).where(Service.case_id == case, access.case_scope(user))
    return [ServiceRow(*row) for row in session.execute(stmt)]


# -- status --------------------------------------------------------------------------------------
def allowed_statuses(current: str | None, grant: access.CaseGrant) -> list[str]:
    """Statuses a service in ``current`` may be given under ``grant`` (the current one
    included), in workflow order. ``current`` None: a new record, any status."""
    every = [c.code for c in vocab.SERVICE_STATUSES]
    if current is None:
        return every
    if current in FINAL_STATUSES and grant.allows(Permission.SERVICE_REOPEN):
        return every
    reachable = TRANSITIONS.get(current, frozenset()) | {current}
    return [code for code in every if code in reachable]


def check_transition(current: str | None, new: str, grant: access.CaseGrant) -> None:
    """Raises ServiceRefused (field ``status``) when ``grant`` does not allow moving ``current``
    to ``new``."""
    if new in allowed_statuses(current, grant):
        return
    if current in FINAL_STATUSES:
        raise ServiceRefused(
            _("This service is closed (provided or declined). Only a supervisor can reopen it."), "status"
        )
    raise ServiceRefused(_("This status cannot follow the current one."), "status")


# -- providers -----------------------------------------------------------------------------------
def provider_choices(user: Any, case_row: Case, current: uuid.UUID | None = None) -> list[tuple[uuid.UUID, str]]:
    """Organisations ``user`` may name as provider: a partner only itself; staff the case's
    organisation first, then active partner organisations (and the current provider, kept
    even if it was since deactivated)."""
    if access.role_of(user) is Role.PARTNER:
        return [(user.organisation_id, user.organisation.name)]
    conditions = [
        Organisation.id == case_row.owner_org_id,
        and_(Organisation.active.is_(True), Organisation.kind.in_(PROVIDER_ORG_KINDS)),
    ]
    if current is not None:
        conditions.append(Organisation.id == current)
    rows = session.execute(
        select(Organisation.id, Organisation.name)
        .where(or_(*conditions))
        .order_by(case((Organisation.id == case_row.owner_org_id, 0), else_=1), Organisation.name)
    ).all()
    return [(org_id, name) for org_id, name in rows]


def _resolve_provider(user: Any, case_row: Case, requested: uuid.UUID | None, current: uuid.UUID | None) -> Any:
    if access.role_of(user) is Role.PARTNER:
        return user.organisation_id  # a partner records what it delivered itself
    if requested is None:
        return None
    if requested not in {org_id for org_id, _name in provider_choices(user, case_row, current)}:
        raise ServiceRefused(_("Choose one of the organisations listed."), "provider_org_id")
    return requested


def _linked_referral(case_id: uuid.UUID, provider_org_id: uuid.UUID | None, kind: str) -> uuid.UUID | None:
    """The provider's referral of this case, if it received one (same kind preferred)."""
    if provider_org_id is None:
        return None
    return session.execute(
        select(Referral.id)
        .where(
            Referral.case_id == case_id,
            Referral.to_org_id == provider_org_id,
            Referral.status.in_(LINKABLE_REFERRAL_STATUSES),
        )
        .order_by(case((Referral.service_kind == kind, 0), else_=1), Referral.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


# -- changes -------------------------------------------------------------------------------------
def _apply(service: Service, values: dict[str, Any]) -> list[str]:
    """Set the fields that differ; returns their names (no re-encryption of unchanged text)."""
    changed = []
    # No autoflush while reading: a half-applied change must reach the database only in the
    # flush that checks the version (and turns a lost race into a VersionConflict).
    with session.no_autoflush:
        for name, value in values.items():
            if getattr(service, name) != value:
                setattr(service, name, value)
                changed.append(name)
    return changed


def create_service(grant: access.CaseGrant, kind: str, values: dict[str, Any]) -> Service:
    """Record a new service of ``kind`` on the case of ``grant`` (which must allow
    SERVICE_RECORD; a 403 otherwise).

    Raises KeyError for an unknown kind, ServiceRefused when a rule refuses a value.
    """
    grant.require(Permission.SERVICE_RECORD)
    case_row, user = grant.case, grant.user
    model = SERVICE_MODELS[kind]
    values = dict(values)
    check_transition(None, values["status"], grant)
    provider = _resolve_provider(user, case_row, values.pop("provider_org_id", None), None)
    service = model(case=case_row, created_by_id=user.id)
    _apply(service, values)
    service.provider_org_id = provider
    service.referral_id = _linked_referral(case_row.id, provider, kind)
    session.add(service)
    session.flush()
    audit.record(
        "service.create", target=service, case_id=case_row.id, details={"kind": kind, "status": service.status}
    )
    return service


def update_service(
    grant: access.CaseGrant, service: Service, values: dict[str, Any], expected_version: int | None
) -> list[str]:
    """Change a service loaded through :func:`load_service` (with ``grant``, which must allow
    SERVICE_RECORD); returns the changed field names.

    Raises VersionConflict when the record changed since ``expected_version`` (checked now and
    again by the database at flush), ServiceRefused when a rule refuses a value.
    """
    grant.require(Permission.SERVICE_RECORD)
    user = grant.user
    if expected_version != service.version_id:
        raise VersionConflict()
    values = dict(values)
    check_transition(service.status, values["status"], grant)
    requested = values.pop("provider_org_id", None)
    provider = _resolve_provider(user, service.case, requested, service.provider_org_id)
    changed = _apply(service, values)
    if provider != service.provider_org_id:
        service.provider_org_id = provider
        service.referral_id = _linked_referral(service.case_id, provider, service.kind)
        changed.append("provider_org_id")
    if not changed:
        return []
    _flush_or_conflict()
    audit.record(
        "service.update",
        target=service,
        case_id=service.case_id,
        details={"kind": service.kind, "status": service.status, "changed": sorted(changed)},
    )
    return changed


def change_status(grant: access.CaseGrant, service: Service, new_status: str, expected_version: int | None) -> bool:
    """Move a service to ``new_status``; returns False when it already had it.

    Raises VersionConflict and ServiceRefused as :func:`update_service`.
    """
    grant.require(Permission.SERVICE_RECORD)
    if expected_version != service.version_id:
        raise VersionConflict()
    check_transition(service.status, new_status, grant)
    if new_status == service.status:
        return False
    previous = service.status
    service.status = new_status
    _flush_or_conflict()
    audit.record(
        "service.update",
        target=service,
        case_id=service.case_id,
        details={"kind": service.kind, "status": new_status, "from_status": previous, "changed": ["status"]},
    )
    return True


def add_follow_up(grant: access.CaseGrant, service: Service, values: dict[str, Any]) -> ReintegrationFollowUp:
    """Add a follow-up visit to reintegration assistance loaded through :func:`load_service`
    (``grant`` must allow SERVICE_RECORD).

    Raises ServiceRefused when the service is of another kind.
    """
    grant.require(Permission.SERVICE_RECORD)
    user = grant.user
    if not isinstance(service, ReintegrationAssistance):
        raise ServiceRefused(_("Follow-up visits belong to reintegration assistance."))
    with session.no_autoflush:  # the visit is not in the session until it is complete
        follow_up = ReintegrationFollowUp(
            reintegration=service,
            visited_on=values["visited_on"],
            sustainability_score=values.get("sustainability_score"),
            created_by_id=user.id,
        )
        follow_up.notes = values.get("notes")
    session.add(follow_up)
    session.flush()
    audit.record(
        "service.follow_up.create",
        target=follow_up,
        case_id=service.case_id,
        details={"kind": service.kind, "service_id": str(service.id)},
    )
    return follow_up


def _flush_or_conflict() -> None:
    try:
        session.flush()
    except StaleDataError:
        # Someone saved between our read and our write: the database refused the old version.
        raise VersionConflict() from None
