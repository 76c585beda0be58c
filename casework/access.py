"""THE access policy: who may do what to which case, and which fields they see.

Three layers, all decided here and nowhere else:

1. Routes: every view declares a :class:`RouteRule` (public, any signed-in user, or a
   :class:`Permission`); ``casework.security`` refuses an undeclared view.
2. Cases: :func:`case_scope` is the one SQL condition that limits case queries to what a user
   may see; :func:`load_case` is the one loader by id (no IDOR: a case outside the scope is a
   404, audited as a refusal).
3. Fields: :func:`visible_fields` and :func:`redact` decide, before rendering, which fields
   reach a page, a CSV or a PDF.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select

from casework.db import session, utcnow

if TYPE_CHECKING:
    from casework.auth.models import User
    from casework.cases.models import Case

F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CASEWORKER = "caseworker"
    PARTNER = "partner"
    RESEARCHER = "researcher"


class Permission(StrEnum):
    """What a role may do at all; which case it may do it to is decided by the case scope."""

    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    CASE_EDIT = "case.edit"
    CASE_ASSIGN = "case.assign"
    CASE_CLOSE = "case.close"
    CASE_ERASE = "case.erase"
    CASE_BREAK_GLASS = "case.break_glass"
    CASE_AUDIT_VIEW = "case.audit_view"
    SERVICE_RECORD = "service.record"
    CONSENT_RECORD = "consent.record"
    CONSENT_OVERRIDE = "consent.override"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_RESPOND = "referral.respond"
    NOTE_ADD = "note.add"
    SUMMARY_PRINT = "summary.print"
    REPORTS_VIEW = "reports.view"
    EXPORT_RESEARCH = "export.research"
    EXPORT_CONFIGURE = "export.configure"
    ADMIN_USERS = "admin.users"
    ADMIN_ORGS = "admin.orgs"
    ADMIN_KEYS = "admin.keys"
    ADMIN_RETENTION = "admin.retention"
    AUDIT_VERIFY = "audit.verify"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administrators run the system but never read case content.
    Role.ADMIN: frozenset({P.ADMIN_USERS, P.ADMIN_ORGS, P.ADMIN_KEYS, P.ADMIN_RETENTION, P.AUDIT_VERIFY}),
    Role.SUPERVISOR: frozenset(
        {
            P.CASE_READ,
            P.CASE_CREATE,
            P.CASE_EDIT,
            P.CASE_ASSIGN,
            P.CASE_CLOSE,
            P.CASE_ERASE,
            P.CASE_BREAK_GLASS,
            P.CASE_AUDIT_VIEW,
            P.SERVICE_RECORD,
            P.CONSENT_RECORD,
            P.CONSENT_OVERRIDE,
            P.REFERRAL_CREATE,
            P.NOTE_ADD,
            P.SUMMARY_PRINT,
            P.REPORTS_VIEW,
            P.EXPORT_CONFIGURE,
            P.ADMIN_RETENTION,
        }
    ),  # fmt: skip
    Role.CASEWORKER: frozenset(
        {
            P.CASE_READ,
            P.CASE_CREATE,
            P.CASE_EDIT,
            P.SERVICE_RECORD,
            P.CONSENT_RECORD,
            P.REFERRAL_CREATE,
            P.NOTE_ADD,
            P.SUMMARY_PRINT,
            P.REPORTS_VIEW,
        }
    ),  # fmt: skip
    # Partners act only on cases referred to them; the case scope enforces which.
    Role.PARTNER: frozenset({P.CASE_READ, P.SERVICE_RECORD, P.NOTE_ADD, P.REFERRAL_RESPOND}),
    Role.RESEARCHER: frozenset({P.EXPORT_RESEARCH}),
}

# Fields of a case, by group. Owner-organisation staff in scope see all of them; a partner
# sees those its referrals' field scopes name (vocab.REFERRAL_SCOPE_FIELDS -> case fields).
IDENTIFYING_FIELDS = frozenset(
    {
        "given_name", "family_name", "aliases", "date_of_birth", "place_of_birth", "phone",
        "email", "address", "languages", "document_type", "document_number", "document_country",
    }
)  # fmt: skip
CODED_FIELDS = frozenset(
    {
        "gender", "age_at_registration", "citizenship", "country_of_exploitation",
        "year_of_registration", "data_source", "identification_route",
    }
)  # fmt: skip
ALWAYS_VISIBLE = frozenset({"id", "reference", "status", "opened_on", "closed_on"})
STAFF_ONLY = frozenset({"assigned_to", "owner_org", "narrative", "notes", "services", "consents", "timeline"})
ALL_CASE_FIELDS = (
    IDENTIFYING_FIELDS
    | CODED_FIELDS
    | ALWAYS_VISIBLE
    | STAFF_ONLY
    | {
        "profile",
        "shared_notes",
        "needs",
    }
)

SCOPE_TO_FIELDS: dict[str, frozenset[str]] = {
    "given_name": frozenset({"given_name"}),
    "family_name": frozenset({"family_name"}),
    "aliases": frozenset({"aliases"}),
    "date_of_birth": frozenset({"date_of_birth"}),
    "age": frozenset({"age_at_registration"}),
    "gender": frozenset({"gender"}),
    "citizenship": frozenset({"citizenship"}),
    "languages": frozenset({"languages"}),
    "contact_phone": frozenset({"phone"}),
    "contact_email": frozenset({"email"}),
    "address": frozenset({"address"}),
    "identity_document": frozenset({"document_type", "document_number", "document_country"}),
    "needs": frozenset({"needs"}),
    "trafficking_profile": frozenset({"profile", "country_of_exploitation"}),
    "case_notes_shared": frozenset({"shared_notes"}),
}


# -- routes -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouteRule:
    public: bool = False
    permission: Permission | None = None
    #: True when the route takes a case id: the access matrix then tries it with cases inside
    #: and outside the user's scope.
    case_route: bool = False


def route(permission: Permission | None = None, *, public: bool = False, case_route: bool = False) -> Callable[[F], F]:
    """Declare who may reach a view. ``route()`` alone means: any signed-in user."""
    rule = RouteRule(public=public, permission=permission, case_route=case_route)

    def decorate(view: F) -> F:
        view._casework_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def route_rule(view: Callable[..., Any] | None) -> RouteRule | None:
    return getattr(view, "_casework_rule", None)


# -- roles and permissions ----------------------------------------------------------------------
def role_of(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


def has_permission(user: Any, permission: Permission) -> bool:
    role = role_of(user)
    return role is not None and permission in ROLE_PERMISSIONS[role]


# -- the case scope -----------------------------------------------------------------------------
def active_consent_condition(purpose: str, on: date, organisation_id: Any = None) -> ColumnElement[bool]:
    """SQL: a consent row of ``purpose`` that is granted, started, unexpired, not withdrawn."""
    from casework.consent.models import Consent

    conditions = [
        Consent.purpose == purpose,
        Consent.decision == "granted",
        Consent.given_on <= on,
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > on),
        or_(Consent.expires_on.is_(None), Consent.expires_on >= on),
    ]
    if organisation_id is not None:
        conditions.append(Consent.organisation_id == organisation_id)
    return and_(*conditions)


def partner_referral_condition(user: User, on: date) -> ColumnElement[bool]:
    """SQL over Referral: accepted, to the user's organisation, resting on active consent."""
    from casework.consent.models import Consent
    from casework.partners.models import Referral

    consent_ok = exists().where(
        Consent.id == Referral.consent_id,
        Consent.case_id == Referral.case_id,
        active_consent_condition("referral_sharing", on, user.organisation_id),
    )
    return and_(Referral.to_org_id == user.organisation_id, Referral.status == "accepted", consent_ok)


def case_scope(user: Any, on: date | None = None) -> ColumnElement[bool]:
    """The one SQL condition on Case that every case query of ``user`` must carry."""
    from casework.cases.models import BreakGlassAccess, Case
    from casework.partners.models import Referral

    role = role_of(user)
    if role is None or role in (Role.ADMIN, Role.RESEARCHER) or not user.active:
        return false()
    on = on or date.today()
    live = Case.erased_at.is_(None)
    if role is Role.SUPERVISOR:
        granted = exists().where(
            BreakGlassAccess.case_id == Case.id,
            BreakGlassAccess.user_id == user.id,
            BreakGlassAccess.expires_at > utcnow(),
        )
        return and_(live, or_(Case.owner_org_id == user.organisation_id, granted))
    if role is Role.CASEWORKER:
        return and_(live, Case.owner_org_id == user.organisation_id, Case.assigned_to_id == user.id)
    if role is Role.PARTNER:
        referred = exists().where(Referral.case_id == Case.id, partner_referral_condition(user, on))
        return and_(live, referred)
    return false()


def scoped_cases(user: Any) -> Select[tuple[Case]]:
    """``select(Case)`` limited to the user's scope: the starting point of every case list."""
    from casework.cases.models import Case

    return select(Case).where(case_scope(user))


def is_owner_staff(user: Any, case: Case) -> bool:
    role = role_of(user)
    return role in (Role.SUPERVISOR, Role.CASEWORKER) and case.owner_org_id == user.organisation_id


def load_case(case_id: uuid.UUID | str, permission: Permission = Permission.CASE_READ, user: Any = None) -> Case:
    """Load one case for ``user`` (the current user by default), or refuse.

    A case outside the user's scope is a 404 (its existence is not disclosed); a case inside it
    for which the user lacks ``permission`` is a 403. Both are audited as refusals.
    """
    from casework.cases.models import Case

    user = user if user is not None else current_user
    try:
        case_uuid = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        abort(404)
    case = session.execute(select(Case).where(Case.id == case_uuid, case_scope(user))).scalar_one_or_none()
    if case is None:
        refuse("case.load", case_id=case_uuid, status=404, reason="out_of_scope")
    if not has_permission(user, permission) or not _case_permission(user, case, permission):
        refuse(f"case.{permission.value}", case_id=case_uuid, status=403, reason="permission")
    if permission is Permission.CASE_READ:
        from casework.audit import writer

        # Every view of a case is on record, in its own transaction (see writer.record_now).
        writer.record_now("case.view", case_id=case.id, target=case, actor=user)
    return case


def _case_permission(user: Any, case: Case, permission: Permission) -> bool:
    """Case-level refinements of the role table."""
    role = role_of(user)
    if role is Role.PARTNER:
        return permission in (P.CASE_READ, P.SERVICE_RECORD, P.NOTE_ADD, P.REFERRAL_RESPOND)
    if case.status == "closed" and permission in (P.CASE_EDIT, P.SERVICE_RECORD, P.REFERRAL_CREATE):
        return role is Role.SUPERVISOR
    return True


def can(user: Any, permission: Permission, case: Case | None = None) -> bool:
    """For templates and services: may ``user`` do this (to this case, already in scope)?"""
    if not has_permission(user, permission):
        return False
    return case is None or _case_permission(user, case, permission)


# -- fields -------------------------------------------------------------------------------------
def partner_scope(user: Any, case: Case, on: date | None = None) -> frozenset[str]:
    """The union of the field scopes of the partner's live referrals of this case."""
    from casework.partners.models import Referral

    on = on or date.today()
    scopes = session.execute(
        select(Referral.field_scope).where(Referral.case_id == case.id, partner_referral_condition(user, on))
    ).scalars()
    return frozenset().union(*scopes)


def visible_fields(user: Any, case: Case) -> frozenset[str]:
    """Which fields of ``case`` the user may see (the case is already known to be in scope)."""
    if is_owner_staff(user, case) or _break_glass_active(user, case):
        return ALL_CASE_FIELDS
    if role_of(user) is Role.PARTNER:
        fields: set[str] = set(ALWAYS_VISIBLE)
        for scope_field in partner_scope(user, case):
            fields |= SCOPE_TO_FIELDS.get(scope_field, frozenset())
        return frozenset(fields)
    return frozenset()


def _break_glass_active(user: Any, case: Case) -> bool:
    from casework.cases.models import BreakGlassAccess

    if role_of(user) is not Role.SUPERVISOR:
        return False
    return (
        session.execute(
            select(BreakGlassAccess.id).where(
                BreakGlassAccess.case_id == case.id,
                BreakGlassAccess.user_id == user.id,
                BreakGlassAccess.expires_at > utcnow(),
            )
        ).first()
        is not None
    )


class Redacted:
    """What a withheld field holds in a redacted record: never the value."""

    _instance: Redacted | None = None

    def __new__(cls) -> Redacted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "REDACTED"


REDACTED = Redacted()


class RedactedCase:
    """A read-only view of a case holding only the fields the user may see.

    Templates, CSV writers and PDF builders receive this, never the ORM object: a withheld
    field holds :data:`REDACTED` and its value was never read, let alone decrypted.
    """

    def __init__(self, case: Case, fields: frozenset[str]) -> None:
        self.fields = fields
        self.id = case.id
        self.reference = case.reference
        self._values: dict[str, Any] = {}
        for name in (IDENTIFYING_FIELDS | CODED_FIELDS | ALWAYS_VISIBLE) - {"id", "reference"}:
            self._values[name] = getattr(case, name) if name in fields else REDACTED
        self.profile = case.profile if "profile" in fields else REDACTED
        self.is_erased = case.is_erased

    def can_see(self, field: str) -> bool:
        return field in self.fields

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def full_name(self) -> str:
        parts = [self._values.get("given_name"), self._values.get("family_name")]
        return " ".join(str(p) for p in parts if p)


def redact(user: Any, case: Case) -> RedactedCase:
    return RedactedCase(case, visible_fields(user, case))


# -- refusals ------------------------------------------------------------------------------------
def refuse(action: str, *, case_id: uuid.UUID | None = None, status: int = 403, reason: str = "") -> NoReturn:
    """Audit a refused access (in its own transaction, so it survives the abort) and abort."""
    from casework.audit import writer

    # The request is being refused: drop whatever it started (and any lock it holds on the
    # audit chain) before the refusal is written in a transaction of its own.
    session.rollback()
    writer.record_refusal(action, case_id=case_id, reason=reason)
    abort(status)


__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "RedactedCase",
    "Role",
    "case_scope",
    "load_case",
    "redact",
    "route",
    "scoped_cases",
    "visible_fields",
]
