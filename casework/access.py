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
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

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
    CASE_LIST = "case.list"  # lists and name search of the organisation's own cases (staff only)
    CASE_CREATE = "case.create"
    CASE_EDIT = "case.edit"
    CASE_ASSIGN = "case.assign"
    CASE_CLOSE = "case.close"
    CASE_ERASE = "case.erase"
    CASE_BREAK_GLASS = "case.break_glass"
    CASE_AUDIT_VIEW = "case.audit_view"
    SERVICE_RECORD = "service.record"
    SERVICE_REOPEN = "service.reopen"  # move a provided/declined service back to an open status
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
            P.CASE_LIST,
            P.CASE_CREATE,
            P.CASE_EDIT,
            P.CASE_ASSIGN,
            P.CASE_CLOSE,
            P.CASE_ERASE,
            P.CASE_BREAK_GLASS,
            P.CASE_AUDIT_VIEW,
            P.SERVICE_RECORD,
            P.SERVICE_REOPEN,
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
            P.CASE_LIST,
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
STAFF_ONLY = frozenset(
    {"assigned_to", "owner_org", "narrative", "notes", "services", "consents", "referrals", "timeline"}
)
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
    """SQL over Consent: a row of ``purpose`` that is granted, started, unexpired, not withdrawn
    on ``on``, AND is the person's latest decision for that purpose (and organisation): a later
    record (a refusal, or a newer grant that was since withdrawn or expired) supersedes it.
    The same rule as ``casework.consent.services.current_consents``."""
    from sqlalchemy.orm import aliased

    from casework.consent.models import Consent

    later = aliased(Consent)
    superseded = exists().where(
        later.case_id == Consent.case_id,
        later.purpose == Consent.purpose,
        later.organisation_id.is_not_distinct_from(Consent.organisation_id),
        later.given_on <= on,
        or_(
            later.given_on > Consent.given_on,
            and_(later.given_on == Consent.given_on, later.recorded_at > Consent.recorded_at),
        ),
    )
    conditions = [
        Consent.purpose == purpose,
        Consent.decision == "granted",
        Consent.given_on <= on,
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > on),
        or_(Consent.expires_on.is_(None), Consent.expires_on >= on),
        ~superseded,
    ]
    if organisation_id is not None:
        conditions.append(Consent.organisation_id == organisation_id)
    return and_(*conditions)


def partner_referral_condition(user: User, on: date) -> ColumnElement[bool]:
    """SQL over Referral: accepted, to the user's organisation, and resting EITHER on consent
    (its own consent record not withdrawn, and the person's current decision on sharing with
    this organisation granted and in force) OR, only while no consent record is attached, on
    an emergency override in force that no later decision of the person has replaced."""
    from casework.consent.models import Consent, ConsentOverride
    from casework.partners.models import Referral

    org_id = user.organisation_id
    own_consent = exists().where(
        Consent.id == Referral.consent_id,
        Consent.case_id == Referral.case_id,
        Consent.organisation_id == org_id,
        Consent.decision == "granted",
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > on),
    )
    current_consent = exists().where(
        Consent.case_id == Referral.case_id, active_consent_condition("referral_sharing", on, org_id)
    )
    decided_since = exists().where(
        Consent.case_id == ConsentOverride.case_id,
        Consent.purpose == "referral_sharing",
        Consent.organisation_id == org_id,
        Consent.recorded_at >= ConsentOverride.created_at,
    )
    override_ok = exists().where(
        ConsentOverride.id == Referral.override_id,
        ConsentOverride.case_id == Referral.case_id,
        ConsentOverride.organisation_id == org_id,
        ConsentOverride.ended_at.is_(None),
        ConsentOverride.starts_on <= on,
        ConsentOverride.expires_on >= on,
        ~decided_since,
    )
    rests_on = or_(
        and_(Referral.consent_id.is_not(None), own_consent, current_consent),
        and_(Referral.consent_id.is_(None), override_ok),
    )
    return and_(Referral.to_org_id == org_id, Referral.status == "accepted", rests_on)


def referral_scope(user: Any) -> ColumnElement[bool]:
    """SQL over Referral: which referrals a user may see at all.

    A partner sees those addressed to its organisation (a pending or ended one as metadata
    only: its case stays outside the partner's case scope); staff see the referrals of the
    cases in their case scope.
    """
    from casework.cases.models import Case
    from casework.partners.models import Referral

    role = role_of(user)
    if role is None or not user.active:
        return false()
    if role is Role.PARTNER:
        return Referral.to_org_id == user.organisation_id
    if role in (Role.SUPERVISOR, Role.CASEWORKER):
        return exists().where(Case.id == Referral.case_id, case_scope(user))
    return false()


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


def duplicate_check_scope(user: Any) -> ColumnElement[bool]:
    """SQL: the cases a new registration is compared against for duplicates.

    Every live case of the user's organisation (a colleague's case of the same person matters),
    wider than :func:`case_scope`: for a match outside ``case_scope`` only its reference, opening
    date and caseworker may be shown, never its content (callers redact with :func:`redact` only
    when ``case_scope`` also holds).
    """
    from casework.cases.models import Case

    if role_of(user) not in (Role.SUPERVISOR, Role.CASEWORKER) or not user.active:
        return false()
    return and_(Case.owner_org_id == user.organisation_id, Case.erased_at.is_(None))


def scoped_cases(user: Any) -> Select[tuple[Case]]:
    """``select(Case)`` limited to the user's scope: the starting point of every case list."""
    from casework.cases.models import Case

    return select(Case).where(case_scope(user))


def is_owner_staff(user: Any, case: Case | RedactedCase) -> bool:
    role = role_of(user)
    return role in (Role.SUPERVISOR, Role.CASEWORKER) and case.owner_org_id == user.organisation_id


def load_case(
    case_id: uuid.UUID | str,
    permission: Permission = Permission.CASE_READ,
    user: Any = None,
    *,
    with_profile: bool = False,
) -> Case:
    """Load one case for ``user`` (the current user by default), or refuse.

    A case outside the user's scope is a 404 (its existence is not disclosed); a case inside it
    for which the user lacks ``permission`` is a 403. Both are audited as refusals.
    ``with_profile`` loads the trafficking profile in the same query (pages that show it).
    """
    from sqlalchemy.orm import joinedload

    from casework.cases.models import Case

    user = user if user is not None else current_user
    try:
        case_uuid = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        abort(404)
    query = select(Case).where(Case.id == case_uuid, case_scope(user))
    if with_profile:
        query = query.options(joinedload(Case.profile))
    case = session.execute(query).unique().scalar_one_or_none()
    if case is None:
        refuse("case.load", case_id=case_uuid, status=404, reason="out_of_scope")
    if not has_permission(user, permission) or not _case_permission(user, case, permission):
        refuse(f"case.{permission.value}", case_id=case_uuid, status=403, reason="permission")
    if permission is Permission.CASE_READ or _is_page_view():
        from casework.audit import writer

        # Every view of a case is on record, in its own transaction (see writer.record_now):
        # reading it, and any page that shows it (an edit form, a summary, an erase page).
        writer.record_now("case.view", case_id=case.id, target=case, actor=user, details=_page_details())
    return case


def _page_details() -> dict[str, str] | None:
    """Which page showed the case (an endpoint name: a code, never data)."""
    from flask import has_request_context, request

    return {"endpoint": request.endpoint} if has_request_context() and request.endpoint else None


def _is_page_view() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method == "GET"


def _case_permission(user: Any, case: Case | RedactedCase, permission: Permission) -> bool:
    """Case-level refinements of the role table."""
    role = role_of(user)
    if permission is P.CASE_AUDIT_VIEW:
        # The owner organisation's supervisors only: break-glass opens a case, not its trail.
        return role is Role.SUPERVISOR and is_owner_staff(user, case)
    if permission is P.CASE_ERASE:
        # Only the owner organisation's supervisors erase: break-glass access never does.
        return role is Role.SUPERVISOR and is_owner_staff(user, case)
    if permission is P.SUMMARY_PRINT:
        # Summaries and subject-access copies leave the system: the owner organisation's staff
        # make them, never a partner or a break-glass visitor.
        return is_owner_staff(user, case)
    if role is Role.PARTNER:
        return permission in (P.CASE_READ, P.SERVICE_RECORD, P.NOTE_ADD, P.REFERRAL_RESPOND)
    if case.status == "closed" and permission in (P.CASE_EDIT, P.SERVICE_RECORD, P.REFERRAL_CREATE):
        return role is Role.SUPERVISOR
    return True


def can(user: Any, permission: Permission, case: Case | RedactedCase | None = None) -> bool:
    """For templates and services: may ``user`` do this (to this case, already in scope)?"""
    if not has_permission(user, permission):
        return False
    return case is None or _case_permission(user, case, permission)


# -- assistance records ---------------------------------------------------------------------------
def service_scope(user: Any) -> ColumnElement[bool]:
    """SQL on Service, on top of :func:`case_scope`: which services of a case the user may see.

    Staff in scope see every service of the case; a partner only the services its own
    organisation provides (never what others do for the person).
    """
    from casework.assistance.models import Service

    if role_of(user) is Role.PARTNER:
        return Service.provider_org_id == user.organisation_id
    return true()


def may_reach_service(user: Any, provider_org_id: uuid.UUID | None) -> bool:
    """:func:`service_scope` for one service whose case is already known to be in scope."""
    if role_of(user) is Role.PARTNER:
        return provider_org_id is not None and provider_org_id == user.organisation_id
    return True


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
    field holds :data:`REDACTED` and its value is never read, let alone decrypted. A visible
    field is read (decrypted) the first time it is used, so a list that shows names decrypts
    names only.
    """

    # Read lazily through ``read``; the trafficking profile too, so that a list of cases loads
    # no profiles (the case file loads its profile with the case, access.load_case).
    _FIELDS = IDENTIFYING_FIELDS | CODED_FIELDS | (ALWAYS_VISIBLE - {"id", "reference"}) | {"profile"}

    def __init__(self, case: Case, fields: frozenset[str]) -> None:
        self.fields = fields
        self.id = case.id
        self.reference = case.reference

        def read(name: str) -> Any:
            # The only way to a field's value, and it knows the visible fields: nothing held by
            # this object (closure included) can hand out a withheld one.
            return getattr(case, name) if name in fields else REDACTED

        self._read = read
        self._values: dict[str, Any] = {}
        self.is_erased = case.is_erased
        # Not victim data, and needed by the case-level rules (access.can on a redacted case).
        self.owner_org_id = case.owner_org_id
        self.assigned_to_id = case.assigned_to_id

    def can_see(self, field: str) -> bool:
        return field in self.fields

    def __getattr__(self, name: str) -> Any:
        if name not in RedactedCase._FIELDS:
            raise AttributeError(name)
        values = self.__dict__["_values"]
        if name not in values:
            values[name] = self._read(name)
        return values[name]

    @property
    def full_name(self) -> str:
        parts = [self.given_name, self.family_name]
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
