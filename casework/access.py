"""THE access policy: who may do what to which case, and which fields they see.

Three layers, all decided here and nowhere else:

1. Routes: every view declares a :class:`RouteRule` (public, any signed-in user, or a
   :class:`Permission`); ``casework.security`` refuses an undeclared view.
2. Cases: :func:`case_scope` is the one SQL condition that limits case queries to what a user
   may see; :func:`load_case` is the one loader by id (no IDOR: a case outside the scope is a
   404, audited as a refusal).
3. Relations: what a user may do to one case is the role's set ∩ the set of the user's
   :class:`Relation` to the case in its :class:`CaseState`, from the two tables below; anything
   not in them is refused. :func:`load_case` decides it once per request, in the case query
   itself, and returns a :class:`CaseGrant` that views, services and templates ask (never the
   role alone, never a field name standing in for a role).
4. Fields: the grant's visible fields decide, before rendering, which fields reach a page, a
   CSV or a PDF; its ``free_text`` masks any free text for a partner.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from casework.db import per_thread_cache, session, utcnow

if TYPE_CHECKING:
    from casework.auth.models import User
    from casework.cases.models import Case

F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    ADMIN = "admin"  # an organisation's administrator: its own accounts only
    OPERATOR = "operator"  # the platform operator (created from the command line only)
    SUPERVISOR = "supervisor"
    CASEWORKER = "caseworker"
    PARTNER = "partner"
    RESEARCHER = "researcher"


class Permission(StrEnum):
    """What may be done. A permission of :data:`CASE_PERMISSIONS` is about one case: it is
    granted only through that case's :class:`CaseGrant` (role's set ∩ relation's set)."""

    CASE_READ = "case.read"  # any page of the case the relation may see
    CASE_FILE = "case.file"  # the organisation's case file (timeline, consents, referrals, all notes)
    CASE_LIST = "case.list"  # lists and name search of the organisation's own cases (staff only)
    CASE_CREATE = "case.create"
    CASE_EDIT = "case.edit"
    CASE_ASSIGN = "case.assign"
    CASE_CLOSE = "case.close"  # close and reopen
    CASE_ERASE = "case.erase"
    CASE_BREAK_GLASS = "case.break_glass"  # ask for emergency access to another organisation's case
    BREAK_GLASS_END = "case.break_glass_end"  # end an emergency access to the case
    CASE_AUDIT_VIEW = "case.audit_view"
    PLAN_APPROVE = "plan.approve"  # approve (or send back) a review of the case plan or a closure
    SERVICE_RECORD = "service.record"
    SERVICE_REOPEN = "service.reopen"  # move a provided/declined service back to an open status
    CONSENT_RECORD = "consent.record"
    CONSENT_OVERRIDE = "consent.override"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_RESPOND = "referral.respond"  # the partner's portal, answers and case page
    NOTE_ADD = "note.add"  # the owner organisation's notes (shareable or not)
    PARTNER_NOTE_ADD = "note.partner_add"  # a partner's note, read by the owner organisation
    SUMMARY_PRINT = "summary.print"  # summaries, PDFs and subject-access copies (they leave the system)
    DOCUMENT_MANAGE = "document.manage"  # upload, replace and delete the case's documents (staff only)
    REPORTS_VIEW = "reports.view"
    EXPORT_RESEARCH = "export.research"
    EXPORT_CONFIGURE = "export.configure"
    NOTIFICATIONS_VIEW = "notifications.view"  # the organisation's notices (break-glass, admin actions)
    ERASURE_RECORD = "erasure.record"  # the organisation's erased cases: reference, who, when, why (a code)
    TASKS_VIEW = "tasks.view"  # the work list and task lists (each row through its case's scope)
    ADMIN_USERS = "admin.users"  # an administrator: its organisation's accounts; the operator: administrators
    ADMIN_ORGS = "admin.orgs"
    AUDIT_VERIFY = "audit.verify"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administrators run their organisation's accounts but never read case content (the erasure
    # record holds none: references, dates, who, reason codes).
    Role.ADMIN: frozenset({P.ADMIN_USERS, P.ERASURE_RECORD}),
    # The operator runs the platform: organisations, their administrators, the audit chain.
    Role.OPERATOR: frozenset({P.ADMIN_USERS, P.ADMIN_ORGS, P.AUDIT_VERIFY}),
    Role.SUPERVISOR: frozenset(
        {
            P.CASE_READ,
            P.CASE_FILE,
            P.CASE_LIST,
            P.CASE_CREATE,
            P.CASE_EDIT,
            P.CASE_ASSIGN,
            P.CASE_CLOSE,
            P.CASE_ERASE,
            P.CASE_BREAK_GLASS,
            P.BREAK_GLASS_END,
            P.CASE_AUDIT_VIEW,
            P.PLAN_APPROVE,
            P.SERVICE_RECORD,
            P.SERVICE_REOPEN,
            P.CONSENT_RECORD,
            P.CONSENT_OVERRIDE,
            P.REFERRAL_CREATE,
            P.NOTE_ADD,
            P.SUMMARY_PRINT,
            P.DOCUMENT_MANAGE,
            P.REPORTS_VIEW,
            P.EXPORT_CONFIGURE,
            P.NOTIFICATIONS_VIEW,
            P.ERASURE_RECORD,
            P.TASKS_VIEW,
        }
    ),  # fmt: skip
    Role.CASEWORKER: frozenset(
        {
            P.CASE_READ,
            P.CASE_FILE,
            P.CASE_LIST,
            P.CASE_CREATE,
            P.CASE_EDIT,
            P.SERVICE_RECORD,
            P.CONSENT_RECORD,
            P.REFERRAL_CREATE,
            P.NOTE_ADD,
            P.SUMMARY_PRINT,
            P.DOCUMENT_MANAGE,
            P.REPORTS_VIEW,
            P.TASKS_VIEW,
        }
    ),  # fmt: skip
    # Partners act only on cases referred to them; the relation decides which and how.
    Role.PARTNER: frozenset({P.CASE_READ, P.SERVICE_RECORD, P.PARTNER_NOTE_ADD, P.REFERRAL_RESPOND, P.TASKS_VIEW}),
    Role.RESEARCHER: frozenset({P.EXPORT_RESEARCH}),
}

#: Permissions about one case: never granted by the role alone, only by a CaseGrant.
CASE_PERMISSIONS = frozenset(
    {
        P.CASE_READ, P.CASE_FILE, P.CASE_EDIT, P.CASE_ASSIGN, P.CASE_CLOSE, P.CASE_ERASE, P.BREAK_GLASS_END,
        P.CASE_AUDIT_VIEW, P.PLAN_APPROVE, P.SERVICE_RECORD, P.SERVICE_REOPEN, P.CONSENT_RECORD,
        P.CONSENT_OVERRIDE, P.REFERRAL_CREATE, P.REFERRAL_RESPOND, P.NOTE_ADD, P.PARTNER_NOTE_ADD, P.SUMMARY_PRINT,
        P.DOCUMENT_MANAGE,
    }
)  # fmt: skip


# -- relations ------------------------------------------------------------------------------------
class Relation(StrEnum):
    """What a user is to one case. Exactly one holds for any (user, case): the conditions of
    :func:`relation_condition` are exclusive by construction (role, then organisation)."""

    OWNER_SUPERVISOR = "owner_supervisor"  # a supervisor of the organisation that owns the case
    ASSIGNEE = "assignee"  # the caseworker the case is assigned to
    OWNER_STAFF = "owner_staff"  # another caseworker of the owner organisation
    BREAK_GLASS = "break_glass"  # another organisation's supervisor holding an emergency access
    PARTNER = "partner"  # staff of an organisation with an accepted referral resting on consent
    NONE = "none"


class CaseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ERASED = "erased"


_OWNER_WORK = frozenset(
    {
        P.CASE_READ, P.CASE_FILE, P.CASE_EDIT, P.SERVICE_RECORD, P.CONSENT_RECORD, P.REFERRAL_CREATE,
        P.NOTE_ADD, P.SUMMARY_PRINT, P.DOCUMENT_MANAGE,
    }
)  # fmt: skip
_SUPERVISION = frozenset(
    {P.CASE_ASSIGN, P.CASE_CLOSE, P.CASE_ERASE, P.BREAK_GLASS_END, P.CASE_AUDIT_VIEW, P.SERVICE_REOPEN,
     P.CONSENT_OVERRIDE, P.PLAN_APPROVE}
)  # fmt: skip
#: THE table: what each relation allows in each state of the case. Permission on a case =
#: ROLE_PERMISSIONS[role] ∩ RELATION_PERMISSIONS[(relation, state)]; a pair that is not here
#: allows nothing. Erased cases are outside every scope (their content is unreadable anyway).
RELATION_PERMISSIONS: dict[tuple[Relation, CaseState], frozenset[Permission]] = {
    (Relation.OWNER_SUPERVISOR, CaseState.OPEN): _OWNER_WORK | _SUPERVISION,
    # A closed case is corrected by a supervisor (or reopened) only.
    (Relation.OWNER_SUPERVISOR, CaseState.CLOSED): _OWNER_WORK | _SUPERVISION,
    (Relation.OWNER_SUPERVISOR, CaseState.ERASED): frozenset(),
    (Relation.ASSIGNEE, CaseState.OPEN): _OWNER_WORK,
    (Relation.ASSIGNEE, CaseState.CLOSED): frozenset(
        {P.CASE_READ, P.CASE_FILE, P.CONSENT_RECORD, P.NOTE_ADD, P.SUMMARY_PRINT}
    ),
    (Relation.ASSIGNEE, CaseState.ERASED): frozenset(),
    # A colleague's case: not even read (the duplicate check shows its reference only).
    (Relation.OWNER_STAFF, CaseState.OPEN): frozenset(),
    (Relation.OWNER_STAFF, CaseState.CLOSED): frozenset(),
    (Relation.OWNER_STAFF, CaseState.ERASED): frozenset(),
    # Emergency access reads, and nothing else: no consent, referral, note, edit, assignment,
    # closing, erasure, print or export. Ending it early is not a change to the case.
    (Relation.BREAK_GLASS, CaseState.OPEN): frozenset({P.CASE_READ, P.CASE_FILE, P.BREAK_GLASS_END}),
    (Relation.BREAK_GLASS, CaseState.CLOSED): frozenset({P.CASE_READ, P.CASE_FILE, P.BREAK_GLASS_END}),
    (Relation.BREAK_GLASS, CaseState.ERASED): frozenset(),
    (Relation.PARTNER, CaseState.OPEN): frozenset(
        {P.CASE_READ, P.REFERRAL_RESPOND, P.SERVICE_RECORD, P.PARTNER_NOTE_ADD}
    ),
    (Relation.PARTNER, CaseState.CLOSED): frozenset({P.CASE_READ, P.REFERRAL_RESPOND, P.PARTNER_NOTE_ADD}),
    (Relation.PARTNER, CaseState.ERASED): frozenset(),
    (Relation.NONE, CaseState.OPEN): frozenset(),
    (Relation.NONE, CaseState.CLOSED): frozenset(),
    (Relation.NONE, CaseState.ERASED): frozenset(),
}


def case_permissions(role: Role | None, relation: Relation, state: CaseState) -> frozenset[Permission]:
    """The role's set ∩ the relation's set (empty for anything not in the tables)."""
    if role is None:
        return frozenset()
    return ROLE_PERMISSIONS.get(role, frozenset()) & RELATION_PERMISSIONS.get((relation, state), frozenset())


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
#: A case's documents are fields too, one per kind (``document:<kind>``): a partner sees the
#: kinds its referrals' field scopes share (DOCUMENT_KIND_SCOPES), staff in scope all of them.
DOCUMENT_KIND_SCOPES: dict[str, str] = {
    "identity_document": "documents_identity",
    "consent_form": "documents_consent",
    "medical": "documents_medical",
    "legal": "documents_legal",
    "travel": "documents_travel",
    "photo": "documents_photo",
    "other": "documents_other",
}


def document_field(kind: str) -> str:
    """The field of a case that stands for its documents of ``kind``."""
    return f"document:{kind}"


DOCUMENT_FIELDS = frozenset(document_field(kind) for kind in DOCUMENT_KIND_SCOPES)
STAFF_ONLY = frozenset(
    {"assigned_to", "owner_org", "narrative", "notes", "services", "consents", "referrals", "timeline"}
)
ALL_CASE_FIELDS = (
    IDENTIFYING_FIELDS
    | CODED_FIELDS
    | ALWAYS_VISIBLE
    | STAFF_ONLY
    | DOCUMENT_FIELDS
    | {
        "profile",
        "shared_notes",
        "needs",
        "plan",
        "assessments",
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
    **{scope: frozenset({document_field(kind)}) for kind, scope in DOCUMENT_KIND_SCOPES.items()},
    # Not shared unless the referral says so: the plan's goals, the assessments' results.
    "case_plan": frozenset({"plan"}),
    "assessments": frozenset({"assessments"}),
}


# -- routes -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouteRule:
    public: bool = False
    permission: Permission | None = None
    #: True when the route takes a case id: the access matrix then tries it with every relation.
    case_route: bool = False
    #: True when the route takes a file upload (casework.security refuses files everywhere else).
    uploads: bool = False


def route(
    permission: Permission | None = None, *, public: bool = False, case_route: bool = False, uploads: bool = False
) -> Callable[[F], F]:
    """Declare who may reach a view. ``route()`` alone means: any signed-in user. For a case
    route, ``permission`` is also what the view asks of the case's grant (:func:`load_case`).
    ``uploads``: the route takes a file (a case document), up to the configured size."""
    rule = RouteRule(public=public, permission=permission, case_route=case_route, uploads=uploads)

    def decorate(view: F) -> F:
        view._casework_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def route_rule(view: Callable[..., Any] | None) -> RouteRule | None:
    return getattr(view, "_casework_rule", None)


# -- roles ----------------------------------------------------------------------------------------
def role_of(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


def has_permission(user: Any, permission: Permission) -> bool:
    """May the user's role ever do this? (The route gate; a case permission still needs the
    case's grant.)"""
    role = role_of(user)
    return role is not None and bool(getattr(user, "active", False)) and permission in ROLE_PERMISSIONS[role]


#: The main navigation: entry -> the role permission that shows it (templates read :func:`menu`).
MENU: dict[str, Permission] = {
    "worklist": P.TASKS_VIEW,
    "dashboard": P.REPORTS_VIEW,
    "cases": P.CASE_LIST,
    "register": P.CASE_CREATE,
    "break_glass": P.CASE_BREAK_GLASS,
    "notifications": P.NOTIFICATIONS_VIEW,
    "erasures": P.ERASURE_RECORD,
    "referrals": P.REFERRAL_RESPOND,
    "exports": P.EXPORT_RESEARCH,
    "export_limits": P.EXPORT_CONFIGURE,
    "admin": P.ADMIN_USERS,
    "organisations": P.ADMIN_ORGS,
    "audit": P.AUDIT_VERIFY,
}


def menu(user: Any) -> frozenset[str]:
    """The navigation entries of the user's role (no case is involved in any of them)."""
    return frozenset(entry for entry, permission in MENU.items() if has_permission(user, permission))


# -- accounts: which an administrator manages ------------------------------------------------------
def user_scope(actor: Any) -> ColumnElement[bool]:
    """SQL over User: the accounts ``actor`` administers. An organisation's administrator: its
    own organisation's accounts (never an operator's); the platform operator: administrators of
    every organisation (so it never creates, resets or sees the one-time password of an account
    that can read cases). Nobody else administers accounts."""
    from casework.auth.models import User

    role = role_of(actor)
    if role is None or not getattr(actor, "active", False):
        return false()
    if role is Role.ADMIN:
        return and_(User.organisation_id == actor.organisation_id, User.role != Role.OPERATOR.value)
    if role is Role.OPERATOR:
        return User.role == Role.ADMIN.value
    return false()


def assignable_roles(actor: Any) -> tuple[Role, ...]:
    """Roles ``actor`` may give an account it administers (the operator role: command line only)."""
    role = role_of(actor)
    if role is Role.ADMIN and getattr(actor, "active", False):
        return (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER, Role.PARTNER, Role.RESEARCHER)
    if role is Role.OPERATOR and getattr(actor, "active", False):
        return (Role.ADMIN,)
    return ()


def may_administer_organisation(actor: Any, organisation_id: Any) -> bool:
    """May ``actor`` create accounts in this organisation? Its own (administrator), any
    (operator, administrators only: see :func:`assignable_roles`)."""
    role = role_of(actor)
    if role is Role.ADMIN:
        return bool(getattr(actor, "active", False)) and actor.organisation_id == organisation_id
    return role is Role.OPERATOR and bool(getattr(actor, "active", False))


# -- the case scope, generated from the tables ----------------------------------------------------
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


def partner_referral_condition(user: User, on: date, referral: Any = None) -> ColumnElement[bool]:
    """SQL over Referral: accepted, to the user's organisation, and resting EITHER on consent
    (its own consent record not withdrawn, and the person's current decision on sharing with
    this organisation granted and in force) OR, only while no consent record is attached, on
    an emergency override in force that no later decision of the person has replaced."""
    from casework.consent.models import Consent, ConsentOverride
    from casework.partners.models import Referral as ReferralModel

    # ``referral``: an alias of Referral, for a query that also has Referral in a subquery.
    Referral = referral if referral is not None else ReferralModel  # noqa: N806
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
    cases they may read.
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


def active_break_glass_condition(user: Any, now: Any = None) -> ColumnElement[bool]:
    """SQL over BreakGlassAccess: the user's emergency accesses in force (not expired, not ended)
    at ``now`` (a value or a bound parameter; default: this moment)."""
    from casework.cases.models import BreakGlassAccess

    return and_(BreakGlassAccess.user_id == user.id, BreakGlassAccess.expires_at > (utcnow() if now is None else now))


def relation_condition(user: Any, relation: Relation, on: Any = None, now: Any = None) -> ColumnElement[bool]:
    """SQL over Case: does ``relation`` hold between ``user`` and the case? The conditions of
    the relations are exclusive by construction (by role first, then by organisation).
    ``on`` (the day) and ``now`` (for emergency access) may be bound parameters."""
    from casework.cases.models import BreakGlassAccess, Case
    from casework.partners.models import Referral

    role = role_of(user)
    if role is None or not getattr(user, "active", False):
        return true() if relation is Relation.NONE else false()
    own = Case.owner_org_id == user.organisation_id
    if relation is Relation.OWNER_SUPERVISOR:
        return own if role is Role.SUPERVISOR else false()
    if relation is Relation.ASSIGNEE:
        return and_(own, Case.assigned_to_id == user.id) if role is Role.CASEWORKER else false()
    if relation is Relation.OWNER_STAFF:
        if role is not Role.CASEWORKER:
            return false()
        return and_(own, or_(Case.assigned_to_id.is_(None), Case.assigned_to_id != user.id))
    if relation is Relation.BREAK_GLASS:
        if role is not Role.SUPERVISOR:
            return false()
        granted = exists().where(BreakGlassAccess.case_id == Case.id, active_break_glass_condition(user, now))
        return and_(Case.owner_org_id != user.organisation_id, granted)
    if relation is Relation.PARTNER:
        if role is not Role.PARTNER:
            return false()
        on = date.today() if on is None else on
        return exists().where(Referral.case_id == Case.id, partner_referral_condition(user, on))
    others = [relation_condition(user, r, on, now) for r in Relation if r is not Relation.NONE]
    return ~or_(*others)


def state_condition(states: frozenset[CaseState]) -> ColumnElement[bool]:
    """SQL over Case: is the case in one of ``states``?"""
    from casework.cases.models import Case

    live = Case.erased_at.is_(None)
    if states >= {CaseState.OPEN, CaseState.CLOSED, CaseState.ERASED}:
        return true()
    parts: list[ColumnElement[bool]] = []
    if states >= {CaseState.OPEN, CaseState.CLOSED}:
        parts.append(live)
    elif CaseState.OPEN in states:
        parts.append(and_(live, Case.status != "closed"))
    elif CaseState.CLOSED in states:
        parts.append(and_(live, Case.status == "closed"))
    if CaseState.ERASED in states:
        parts.append(Case.erased_at.is_not(None))
    return or_(*parts) if parts else false()


def case_scope(user: Any, on: date | None = None, permission: Permission = P.CASE_READ) -> ColumnElement[bool]:
    """The one SQL condition on Case that every case query of ``user`` must carry: the cases on
    which the user holds ``permission``, generated from ROLE_PERMISSIONS and RELATION_PERMISSIONS."""
    return _scope_from(user, _relation_conditions(user, on), permission)


def relation_expression(user: Any, on: date | None = None) -> ColumnElement[str]:
    """SQL: the user's relation to the case, as a Relation value (for the case query itself)."""
    return _expression_from(_relation_conditions(user, on))


def _relation_conditions(user: Any, on: Any, now: Any = None) -> dict[Relation, ColumnElement[bool]]:
    """The conditions of the relations that can hold for this user (the others are false)."""
    conditions = {}
    for relation in Relation:
        if relation is not Relation.NONE:
            condition = relation_condition(user, relation, on, now)
            if condition is not false():
                conditions[relation] = condition
    return conditions


def _scope_from(
    user: Any, conditions: dict[Relation, ColumnElement[bool]], permission: Permission
) -> ColumnElement[bool]:
    role = role_of(user)
    if role is None or permission not in ROLE_PERMISSIONS[role] or not getattr(user, "active", False):
        return false()
    clauses = [
        and_(state_condition(states), conditions[relation])
        for relation, states in _states_allowing(role, permission)
        if relation in conditions
    ]
    return or_(*clauses) if clauses else false()


def _expression_from(conditions: dict[Relation, ColumnElement[bool]]) -> ColumnElement[str]:
    from sqlalchemy import case as sql_case
    from sqlalchemy import literal

    if not conditions:
        return literal(Relation.NONE.value)
    whens = [(condition, literal(relation.value)) for relation, condition in conditions.items()]
    return sql_case(*whens, else_=literal(Relation.NONE.value))


@functools.cache
def _states_allowing(role: Role, permission: Permission) -> tuple[tuple[Relation, frozenset[CaseState]], ...]:
    """For each relation, the case states in which it allows ``permission`` to ``role`` (the
    tables are constants: computed once per process)."""
    pairs = []
    for relation in Relation:
        states = frozenset(s for s in CaseState if permission in case_permissions(role, relation, s))
        if states:
            pairs.append((relation, states))
    return tuple(pairs)


def duplicate_check_scope(user: Any) -> ColumnElement[bool]:
    """SQL: the cases a new registration is compared against for duplicates.

    Every live case of the user's organisation (a colleague's case of the same person matters),
    wider than :func:`case_scope`: for a match outside ``case_scope`` only its reference, opening
    date and caseworker may be shown, never its content (callers redact only when ``case_scope``
    also holds).
    """
    from casework.cases.models import Case

    if role_of(user) not in (Role.SUPERVISOR, Role.CASEWORKER) or not user.active:
        return false()
    return and_(Case.owner_org_id == user.organisation_id, Case.erased_at.is_(None))


def scoped_cases(user: Any) -> Select[tuple[Case]]:
    """``select(Case)`` limited to the user's scope: the starting point of every case list."""
    from casework.cases.models import Case

    return select(Case).where(case_scope(user))


# -- the grant: one access decision per request ---------------------------------------------------
def case_state(case: Any) -> CaseState:
    if case.erased_at is not None:
        return CaseState.ERASED
    return CaseState.CLOSED if case.status == "closed" else CaseState.OPEN


def relation_fields(relation: Relation, partner_scopes: frozenset[str] = frozenset()) -> frozenset[str]:
    """Which fields of a case a relation shows (a partner's: its referrals' field scopes)."""
    if relation in (Relation.OWNER_SUPERVISOR, Relation.ASSIGNEE, Relation.BREAK_GLASS):
        return ALL_CASE_FIELDS
    if relation is Relation.PARTNER:
        fields: set[str] = set(ALWAYS_VISIBLE)
        for scope_field in partner_scopes:
            fields |= SCOPE_TO_FIELDS.get(scope_field, frozenset())
        return frozenset(fields)
    return frozenset()


class CaseGrant:
    """The one access decision about one case for one user in one request.

    It holds the case (the ORM row, for services), the user's :class:`Relation` to it, the
    case's :class:`CaseState`, the permissions (role's set ∩ relation's set) and the visible
    fields. Views, services and templates ask it, and nothing else: ``allows``/``require`` for
    an action, ``view`` (a :class:`RedactedCase`) for what a page shows, ``free_text`` for any
    free text shown to this user (masked for a partner).
    """

    __slots__ = (
        "case",
        "user",
        "relation",
        "state",
        "permissions",
        "fields",
        "break_glass_id",
        "extra",
        "_view",
        "_mask",
    )

    def __init__(
        self,
        case: Case,
        user: Any,
        relation: Relation,
        partner_scopes: frozenset[str] = frozenset(),
        break_glass_id: uuid.UUID | None = None,
    ) -> None:
        self.case = case
        self.user = user
        self.relation = relation
        self.state = case_state(case)
        self.permissions = case_permissions(role_of(user), relation, self.state)
        self.fields = relation_fields(relation, partner_scopes) if P.CASE_READ in self.permissions else frozenset()
        self.break_glass_id = break_glass_id
        #: the values of the ``extra_columns`` load_case was asked for (none: empty)
        self.extra: tuple[Any, ...] = ()
        self._view: RedactedCase | None = None
        self._mask: Any = None

    @property
    def case_id(self) -> uuid.UUID:
        return self.case.id

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Refuse (403, audited) unless the grant allows ``permission``."""
        if permission not in self.permissions:
            refuse(f"case.{permission.value}", case_id=self.case.id, status=403, reason=f"relation:{self.relation}")

    def can_see(self, field_name: str) -> bool:
        return field_name in self.fields

    @property
    def view(self) -> RedactedCase:
        """What pages, CSVs and PDFs get: only the visible fields, and this grant's permissions."""
        if self._view is None:
            self._view = RedactedCase(self.case, self.fields, self.permissions, self.relation)
        return self._view

    def free_text(self, text: Any) -> Any:
        """Free text (a note, a service's details, a referral message) as this user may read it:
        as written for the owner organisation and a break-glass visitor; for a partner, with the
        person's identifiers it may not see masked (casework.partners.masking)."""
        if text is None or self.relation is not Relation.PARTNER:
            return text
        from casework.partners import masking

        if self._mask is None:
            self._mask = masking.rules_for(self.case, self.fields)
        return masking.mask_text(str(text), self._mask)

    def __repr__(self) -> str:
        return f"<CaseGrant {self.case.reference} {self.relation} {self.state}>"


def _route_permission() -> Permission | None:
    from flask import current_app, has_request_context, request

    if not has_request_context() or request.endpoint is None:
        return None
    rule = route_rule(current_app.view_functions.get(request.endpoint))
    return rule.permission if rule is not None and rule.case_route else None


def load_case(
    case_id: uuid.UUID | str,
    permission: Permission | None = None,
    user: Any = None,
    *,
    with_profile: bool = False,
    extra_columns: tuple[ColumnElement[Any], ...] = (),
) -> CaseGrant:
    """The grant of ``user`` (the current user by default) on one case, or a refusal.

    One query reads the case, the user's relation to it (and for a supervisor the emergency
    access in force, for a partner its referrals' field scopes). A case outside the user's scope
    is a 404 (its existence is not disclosed); a case inside it on which the relation does not
    allow ``permission`` (default: the route's declared permission) is a 403. Both are audited.
    ``with_profile`` loads the trafficking profile in the same query (pages that show it).
    ``extra_columns`` (SQL over Case, built once per process: a key of the statement cache;
    bound parameters ``scope_case_id`` and ``scope_on`` available) ride along in the same
    query; their values are the grant's ``extra``, read only once the access is decided.
    """
    user = user if user is not None else current_user._get_current_object()  # type: ignore[attr-defined]
    permission = permission or _route_permission() or P.CASE_READ
    try:
        case_uuid = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        abort(404)
    role = role_of(user)
    if role is not None and getattr(user, "active", False) and user.id is not None and user.organisation_id is not None:
        # The statement's shape depends on the role alone: built once per role, the user's
        # values go as parameters (building it cost more CPU than running it).
        parameters: dict[str, Any] = {"scope_user_id": user.id, "scope_org_id": user.organisation_id}
        query = _load_case_statement(role, with_profile, extra_columns)
    else:  # a user whose scope is empty: the statement finds nothing
        parameters = {}
        query = _case_statement(user, date.today(), utcnow(), case_uuid, with_profile, extra_columns)
    parameters.update(scope_case_id=case_uuid, scope_on=date.today(), scope_now=utcnow())
    rows = session.execute(query, parameters).all()
    if not rows:
        _offer_break_glass(user, case_uuid)
        refuse("case.load", case_id=case_uuid, status=404, reason="out_of_scope")
    case, relation = rows[0][0], Relation(rows[0][1])
    scopes: frozenset[str] = frozenset()
    break_glass_id = None
    if role is Role.PARTNER:
        scopes = frozenset().union(*(row[2] or () for row in rows))
    elif role is Role.SUPERVISOR:
        break_glass_id = rows[0][2] if relation is Relation.BREAK_GLASS else None
    grant = CaseGrant(case, user, relation, scopes, break_glass_id)
    grant.require(permission)
    if extra_columns:
        grant.extra = tuple(rows[0][len(rows[0]) - len(extra_columns) :])
    if permission is Permission.CASE_READ or _is_page_view():
        from casework.audit import writer

        # Every view of a case is on record, in its own transaction (see writer.record_now):
        # reading it, and any page that shows it (an edit form, a summary, an erase page).
        details = _page_details()
        if relation is Relation.BREAK_GLASS:
            details = {**(details or {}), "break_glass": True}
        writer.record_now("case.view", case_id=case.id, target=case, actor=user, details=details)
    return grant


class _ScopeUser:
    """A signed-in, active user of ``role`` whose id and organisation are bound parameters: what
    the scope's SQL is built from in :func:`_load_case_statement`."""

    __slots__ = ("role", "active", "is_authenticated", "id", "organisation_id")

    def __init__(self, role: Role) -> None:
        from sqlalchemy import bindparam

        self.role = role.value
        self.active = True
        self.is_authenticated = True
        self.id = bindparam("scope_user_id")
        self.organisation_id = bindparam("scope_org_id")


@per_thread_cache
def _load_case_statement(role: Role, with_profile: bool, extra_columns: tuple[ColumnElement[Any], ...]) -> Select[Any]:
    """:func:`load_case`'s statement for any active user of ``role``: parameters ``scope_case_id``,
    ``scope_user_id``, ``scope_org_id``, ``scope_on`` (today) and ``scope_now`` (this moment).
    Built by the same code as for one user (:func:`_case_statement`), with bound parameters in
    place of the user's values; a constant of the process, like the permission tables."""
    from sqlalchemy import bindparam

    return _case_statement(
        _ScopeUser(role),
        bindparam("scope_on"),
        bindparam("scope_now"),
        bindparam("scope_case_id"),
        with_profile,
        extra_columns,
    )


def _case_statement(
    user: Any, on: Any, now: Any, case_id: Any, with_profile: bool, extra_columns: tuple[ColumnElement[Any], ...] = ()
) -> Select[Any]:
    """The case ``case_id`` if it is in ``user``'s scope, with the user's relation to it (and for
    a supervisor the emergency access in force at ``now``, for a partner its referrals' field
    scopes on the day ``on``, one row each)."""
    from sqlalchemy.orm import aliased, joinedload

    from casework.cases.models import BreakGlassAccess, Case
    from casework.partners.models import Referral

    role = role_of(user)
    conditions = _relation_conditions(user, on, now)  # built once, for the scope and the relation
    query = select(Case, _expression_from(conditions)).where(
        Case.id == case_id, _scope_from(user, conditions, P.CASE_READ)
    )
    if role is Role.SUPERVISOR:
        grant_id = (
            select(BreakGlassAccess.id)
            .where(BreakGlassAccess.case_id == Case.id, active_break_glass_condition(user, now))
            .order_by(BreakGlassAccess.expires_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.add_columns(grant_id)
    elif role is Role.PARTNER:
        # The live referrals' field scopes ride along (one row each): an alias, since the
        # relation's own EXISTS over Referral must not correlate to this join.
        live = aliased(Referral)
        query = query.add_columns(live.field_scope).outerjoin(
            live, and_(live.case_id == Case.id, partner_referral_condition(user, on, live))
        )
    if with_profile:
        query = query.options(joinedload(Case.profile))
    if extra_columns:
        query = query.add_columns(*extra_columns)
    return query


def _offer_break_glass(user: Any, case_id: uuid.UUID) -> None:
    """The out-of-scope page of a case (its file or any page of it a link may lead to) offers a
    supervisor emergency access: the same page whether the case exists or not (a random id
    cannot be guessed, so nothing is enumerated)."""
    from flask import current_app, g, has_request_context, request

    if not has_request_context() or request.method != "GET" or not has_permission(user, P.CASE_BREAK_GLASS):
        return
    rule = route_rule(current_app.view_functions.get(request.endpoint or ""))
    if rule is not None and rule.case_route and (request.view_args or {}).get("case_id") == case_id:
        g.break_glass_case_id = case_id


def grant_for(user: Any, case: Case, on: date | None = None) -> CaseGrant:
    """The grant of ``user`` on a case already loaded (a list's rows, a referral's case): the
    same relation as :func:`load_case` computes in SQL, from the row and, for a supervisor on
    another organisation's case or a partner, one query."""
    from casework.cases.models import BreakGlassAccess
    from casework.partners.models import Referral

    role = role_of(user)
    relation = Relation.NONE
    scopes: frozenset[str] = frozenset()
    break_glass_id = None
    if role is not None and getattr(user, "active", False):
        own = case.owner_org_id == user.organisation_id
        if role is Role.SUPERVISOR and own:
            relation = Relation.OWNER_SUPERVISOR
        elif role is Role.CASEWORKER and own:
            relation = Relation.ASSIGNEE if case.assigned_to_id == user.id else Relation.OWNER_STAFF
        elif role is Role.SUPERVISOR:
            break_glass_id = session.execute(
                select(BreakGlassAccess.id)
                .where(BreakGlassAccess.case_id == case.id, active_break_glass_condition(user))
                .limit(1)
            ).scalar()
            relation = Relation.BREAK_GLASS if break_glass_id is not None else Relation.NONE
        elif role is Role.PARTNER:
            rows = session.execute(
                select(Referral.field_scope).where(
                    Referral.case_id == case.id, partner_referral_condition(user, on or date.today())
                )
            ).all()
            if rows:
                relation = Relation.PARTNER
                scopes = frozenset().union(*(row[0] or () for row in rows))
    return CaseGrant(case, user, relation, scopes, break_glass_id)


def _page_details() -> dict[str, str] | None:
    """Which page showed the case (an endpoint name: a code, never data)."""
    from flask import has_request_context, request

    return {"endpoint": request.endpoint} if has_request_context() and request.endpoint else None


def _is_page_view() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method == "GET"


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


# -- documents ------------------------------------------------------------------------------------
def document_scope(grant: CaseGrant) -> ColumnElement[bool]:
    """SQL on Document, on top of the case's grant: which documents of the case the user sees.

    Staff in scope and a break-glass visitor see every document; a partner only the kinds its
    referrals' field scopes share, and of those attached to a service only the services its own
    organisation provides (:func:`service_scope`). Nobody else sees any.
    """
    from casework.assistance.models import Service
    from casework.documents.models import Document

    kinds = [kind for kind in DOCUMENT_KIND_SCOPES if grant.can_see(document_field(kind))]
    if not kinds:
        return false()
    condition = Document.kind.in_(kinds)
    if grant.relation is Relation.PARTNER:
        own_service = exists().where(Service.id == Document.service_id, service_scope(grant.user))
        condition = and_(condition, or_(Document.service_id.is_(None), own_service))
    return condition


# -- fields -------------------------------------------------------------------------------------
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
    """A read-only view of a case holding only the fields the user may see, and what the
    user's grant allows on it (``may``).

    Templates, CSV writers and PDF builders receive this, never the ORM object: a withheld
    field holds :data:`REDACTED` and its value is never read, let alone decrypted. A visible
    field is read (decrypted) the first time it is used, so a list that shows names decrypts
    names only.
    """

    # Read lazily through ``read``; the trafficking profile too, so that a list of cases loads
    # no profiles (the case file loads its profile with the case, access.load_case).
    _FIELDS = IDENTIFYING_FIELDS | CODED_FIELDS | (ALWAYS_VISIBLE - {"id", "reference"}) | {"profile"}

    def __init__(
        self,
        case: Case,
        fields: frozenset[str],
        permissions: frozenset[Permission] = frozenset(),
        relation: Relation = Relation.NONE,
    ) -> None:
        self.fields = fields
        self.permissions = permissions
        self.relation = relation
        self.id = case.id
        self.reference = case.reference

        def read(name: str) -> Any:
            # The only way to a field's value, and it knows the visible fields: nothing held by
            # this object (closure included) can hand out a withheld one.
            return getattr(case, name) if name in fields else REDACTED

        self._read = read
        self._values: dict[str, Any] = {}
        self.is_erased = case.is_erased
        self.owner_org_id = case.owner_org_id

    def can_see(self, field: str) -> bool:
        return field in self.fields

    def may(self, permission: Permission | str) -> bool:
        """Does the grant this view came from allow ``permission`` on the case? (Templates ask
        this before offering an action: never a button the relation cannot use.)"""
        return permission in self.permissions

    @property
    def break_glass(self) -> bool:
        return self.relation is Relation.BREAK_GLASS

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
    """The view of an already loaded case for ``user`` (lists, search): :func:`grant_for`."""
    return grant_for(user, case).view


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
    "CASE_PERMISSIONS",
    "RELATION_PERMISSIONS",
    "ROLE_PERMISSIONS",
    "CaseGrant",
    "CaseState",
    "Permission",
    "RedactedCase",
    "Relation",
    "Role",
    "case_scope",
    "grant_for",
    "load_case",
    "redact",
    "route",
    "scoped_cases",
]
