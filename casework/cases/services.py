"""Case business rules: register, edit, blind indexes, duplicates, notes, close/reopen, assign.

Every function validates what it is given, changes the session, audits (ids and codes only)
and flushes; none commits. Refused input raises :class:`InputErrors` (field -> messages);
an edit from an outdated version raises :class:`VersionConflict`; an edit of a case whose data
key was destroyed raises :class:`CaseErased`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from casework import access, vocab
from casework.access import Role
from casework.audit import writer
from casework.auth.models import User
from casework.cases.models import Case, CaseNote
from casework.cases.references import next_reference
from casework.cases.validation import ErrorCollector, InputErrors, check_past_date, years_between
from casework.crypto import ERASED, blind_index
from casework.db import session, utcnow

__all__ = [
    "CaseDetails",
    "CaseErased",
    "DuplicateCandidate",
    "InputErrors",
    "VersionConflict",
    "add_note",
    "assign_case",
    "assignable_users",
    "close_case",
    "find_duplicates",
    "refresh_blind_indexes",
    "register_case",
    "reopen_case",
    "update_case",
]

EARLIEST_OPENING = date(1990, 1, 1)
ASSIGNABLE_ROLES = (Role.CASEWORKER.value, Role.SUPERVISOR.value)
TEXT_LIMITS = {
    "given_name": 200,
    "family_name": 200,
    "aliases": 500,
    "place_of_birth": 200,
    "phone": 40,
    "email": 254,
    "languages": 200,
    "document_number": 60,
}
MULTILINE_LIMITS = {"address": 1000}
NOTE_MAX = 10_000
BLIND_INDEX_FIELDS = frozenset({"given_name", "family_name", "date_of_birth", "document_number"})


class VersionConflict(Exception):
    """Someone saved the case after the form was loaded; nothing of this change was applied."""


class CaseErased(Exception):
    """The case's identifying data was erased (its data key destroyed): it cannot be edited."""


@dataclass
class CaseDetails:
    """Identity (encrypted) and coded profile (plain) of a case, as entered."""

    given_name: str | None = None
    family_name: str | None = None
    aliases: str | None = None
    date_of_birth: date | None = None
    place_of_birth: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    languages: str | None = None
    document_type: str | None = None
    document_number: str | None = None
    document_country: str | None = None
    gender: str | None = None
    age_at_registration: int | None = None
    citizenship: str | None = None
    country_of_exploitation: str | None = None
    identification_route: str | None = None
    data_source: str | None = "case_management"
    opened_on: date | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_form(cls, form: Any) -> CaseDetails:
        """From a CaseDetailsForm: empty strings become None (not recorded), and so do fields
        the form refused (their rules are then checked on the rest: see add_rule_errors)."""
        return cls(**{name: None if form[name].errors else _blank_to_none(form[name].data) for name in cls.names()})

    @classmethod
    def from_case(cls, case: Case) -> CaseDetails:
        return cls(**{name: _blank_to_none(getattr(case, name)) for name in cls.names()})


def _blank_to_none(value: Any) -> Any:
    if value is ERASED:
        return None
    return None if isinstance(value, str) and value == "" else value


def validate_details(details: CaseDetails, today: date | None = None) -> CaseDetails:
    """Check every rule; returns the details with the age derived from the date of birth.

    Raises InputErrors naming each refused field.
    """
    today = today or date.today()
    errors = ErrorCollector()
    if not (details.given_name or details.family_name):
        errors.add("given_name", _l("Enter a given name or a family name (a name the person uses is enough)."))
    for name, limit in TEXT_LIMITS.items():
        errors.check_text(name, getattr(details, name), limit)
    for name, limit in MULTILINE_LIMITS.items():
        errors.check_text(name, getattr(details, name), limit, multiline=True)
    errors.check_code("document_type", details.document_type, vocab.DOCUMENT_TYPES)
    errors.check_code("document_country", details.document_country, vocab.COUNTRIES)
    errors.check_code("gender", details.gender, vocab.GENDERS)
    errors.check_code("citizenship", details.citizenship, vocab.COUNTRIES)
    errors.check_code("country_of_exploitation", details.country_of_exploitation, vocab.COUNTRIES)
    errors.check_code("identification_route", details.identification_route, vocab.IDENTIFICATION_ROUTES)
    if details.data_source is None:
        errors.add("data_source", _l("Choose the data source."))
    errors.check_code("data_source", details.data_source, vocab.DATA_SOURCES)

    opened_on = details.opened_on
    if opened_on is None:
        errors.add("opened_on", _l("Enter the date the case was opened."))
    elif message := check_past_date(opened_on, today, EARLIEST_OPENING):
        errors.add("opened_on", message)
    age = details.age_at_registration
    if age is not None and not 0 <= age <= 120:
        errors.add("age_at_registration", _l("Enter an age from 0 to 120."))
    born = details.date_of_birth
    if born is not None:
        if message := check_past_date(born, today):
            errors.add("date_of_birth", message)
        elif opened_on is not None and born > opened_on:
            errors.add("date_of_birth", _l("The date of birth is after the date the case was opened."))
        elif opened_on is not None:
            derived = years_between(born, opened_on)
            if derived > 120:
                errors.add("date_of_birth", _l("This date of birth gives an age over 120."))
            elif age is not None and age != derived:
                errors.add(
                    "age_at_registration",
                    _l("The date of birth gives an age of %(age)d at registration.", age=derived),
                )
            else:
                details.age_at_registration = derived
    errors.raise_if_any()
    return details


# -- blind indexes and duplicates ---------------------------------------------------------------
@dataclass(frozen=True)
class BlindIndexes:
    name: str | None
    name_dob: str | None
    document: str | None


def compute_indexes(
    given_name: Any, family_name: Any, date_of_birth: Any, document_number: Any, organisation_id: uuid.UUID
) -> BlindIndexes:
    """The blind indexes of an identity, under ``organisation_id``'s own blind-index key (the
    same person in two organisations gets unrelated values)."""
    key = blind_index.organisation_key(organisation_id)
    given = given_name if isinstance(given_name, str) else None
    family = family_name if isinstance(family_name, str) else None
    born = date_of_birth.isoformat() if isinstance(date_of_birth, date) else None
    document = document_number if isinstance(document_number, str) else None
    return BlindIndexes(
        name=blind_index.name_index(given, family, key),
        name_dob=blind_index.name_dob_index(given, family, born, key),
        document=blind_index.document_index(document, key),
    )


def refresh_blind_indexes(case: Case) -> None:
    """Recompute the case's blind indexes from its current (decrypted) identity."""
    indexes = compute_indexes(
        case.given_name, case.family_name, case.date_of_birth, case.document_number, case.owner_org_id
    )
    case.name_bidx = indexes.name
    case.name_dob_bidx = indexes.name_dob
    case.document_bidx = indexes.document
    from casework.cases import names

    names.reindex(case)  # the tolerant search's tokens


@dataclass(frozen=True)
class DuplicateCandidate:
    """A case of the same organisation that may be the same person.

    ``case`` (a RedactedCase) is set only when the user may open that case; otherwise only the
    reference, the opening date and the assigned caseworker are known here.
    """

    id: uuid.UUID
    reference: str
    opened_on: date
    assignee_name: str | None
    can_open: bool
    matched_on: tuple[str, ...]
    case: access.RedactedCase | None


def find_duplicates(actor: Any, details: CaseDetails, exclude_id: uuid.UUID | None = None) -> list[DuplicateCandidate]:
    """Cases of the actor's organisation whose blind indexes equal those of ``details``."""
    indexes = compute_indexes(
        details.given_name, details.family_name, details.date_of_birth, details.document_number, actor.organisation_id
    )
    conditions = []
    if indexes.name:
        conditions.append(Case.name_bidx == indexes.name)
    if indexes.name_dob:
        conditions.append(Case.name_dob_bidx == indexes.name_dob)
    if indexes.document:
        conditions.append(Case.document_bidx == indexes.document)
    if not conditions:
        return []
    query = (
        select(Case, access.case_scope(actor).label("can_open"), User.display_name)
        .outerjoin(User, User.id == Case.assigned_to_id)
        .where(access.duplicate_check_scope(actor), or_(*conditions))
        .order_by(Case.opened_on.desc(), Case.reference)
        .limit(50)
    )
    if exclude_id is not None:
        query = query.where(Case.id != exclude_id)
    candidates = []
    for case, can_open, assignee_name in session.execute(query):
        matched = tuple(
            label
            for label, mine, theirs in (
                ("name", indexes.name, case.name_bidx),
                ("name_dob", indexes.name_dob, case.name_dob_bidx),
                ("document", indexes.document, case.document_bidx),
            )
            if mine and mine == theirs
        )
        candidates.append(
            DuplicateCandidate(
                id=case.id,
                reference=case.reference,
                opened_on=case.opened_on,
                assignee_name=assignee_name,
                can_open=bool(can_open),
                matched_on=matched,
                # Content only for cases the user may open; never decrypted otherwise.
                case=access.redact(actor, case) if can_open else None,
            )
        )
    return candidates


# -- registration and edits ---------------------------------------------------------------------
def assignable_users(organisation_id: uuid.UUID) -> list[User]:
    """Active caseworkers and supervisors of an organisation, by name."""
    return list(
        session.execute(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.active.is_(True),
                User.role.in_(ASSIGNABLE_ROLES),
            )
            .order_by(User.display_name, User.email)
        ).scalars()
    )


def _check_assignee(actor: Any, assignee_id: uuid.UUID | None, organisation_id: uuid.UUID) -> uuid.UUID:
    if assignee_id is None:
        return actor.id  # type: ignore[no-any-return]
    if assignee_id != actor.id and not access.has_permission(actor, access.Permission.CASE_ASSIGN):
        raise InputErrors({"assigned_to": [str(_l("You can only register cases assigned to yourself."))]})
    if assignee_id not in {u.id for u in assignable_users(organisation_id)}:
        raise InputErrors({"assigned_to": [str(_l("Choose a caseworker of your organisation."))]})
    return assignee_id


def register_case(
    details: CaseDetails,
    actor: Any,
    *,
    assignee_id: uuid.UUID | None = None,
    linked_case_id: uuid.UUID | None = None,
    duplicates_shown: int = 0,
    today: date | None = None,
) -> Case:
    """Create a case owned by the actor's organisation. Raises InputErrors."""
    details = validate_details(details, today)
    assert details.opened_on is not None  # noqa: S101 - validate_details guarantees it
    assigned = _check_assignee(actor, assignee_id, actor.organisation_id)
    if linked_case_id is not None:
        linked = session.get(Case, linked_case_id)
        if linked is None or linked.owner_org_id != actor.organisation_id or linked.erased_at is not None:
            raise InputErrors({"duplicate_decision": [str(_l("That case cannot be linked."))]})
    case = Case(
        reference=next_reference(details.opened_on.year),
        owner_org_id=actor.organisation_id,
        assigned_to_id=assigned,
        created_by_id=actor.id,
        status="open",
        opened_on=details.opened_on,
        year_of_registration=details.opened_on.year,
        linked_case_id=linked_case_id,
    )
    _apply_details(case, details)
    refresh_blind_indexes(case)
    session.add(case)
    session.flush()
    writer.record(
        "case.register",
        target=case,
        case_id=case.id,
        actor=actor,
        details={"duplicates_shown": duplicates_shown, "linked": linked_case_id is not None},
    )
    return case


def _apply_details(case: Case, details: CaseDetails) -> list[str]:
    changed = []
    for name in CaseDetails.names():
        new = getattr(details, name)
        if _blank_to_none(getattr(case, name)) != new:
            setattr(case, name, new)
            changed.append(name)
    if details.opened_on is not None:
        case.year_of_registration = details.opened_on.year
    return changed


def check_editable(case: Case, expected_version: int | None) -> None:
    """Raises CaseErased, or VersionConflict when the form was built from another version."""
    if case.is_erased:
        raise CaseErased()
    if expected_version is None or expected_version != case.version_id:
        raise VersionConflict()


def flush_versioned() -> None:
    """Flush; a concurrent save caught by the version check becomes a VersionConflict."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise VersionConflict() from exc


def update_case(
    case: Case, details: CaseDetails, expected_version: int | None, actor: Any, today: date | None = None
) -> list[str]:
    """Apply an edit of identity and coded profile; returns the names of the changed fields.

    Raises CaseErased, VersionConflict (checked first: nothing is changed), InputErrors.
    """
    check_editable(case, expected_version)
    details = validate_details(details, today)
    changed = _apply_details(case, details)
    if not changed:
        return []
    if BLIND_INDEX_FIELDS & set(changed):
        refresh_blind_indexes(case)
    case.updated_at = utcnow()
    flush_versioned()
    writer.record("case.edit", target=case, case_id=case.id, actor=actor, details={"fields": sorted(changed)})
    return changed


# -- notes --------------------------------------------------------------------------------------
def add_note(case: Case, body: str | None, shareable: bool, actor: Any) -> CaseNote:
    """Add an encrypted note. Raises InputErrors (empty, too long, control characters)."""
    errors = ErrorCollector()
    if not body:
        errors.add("body", _l("Write the note."))
    errors.check_text("body", body, NOTE_MAX, multiline=True)
    errors.raise_if_any()
    if case.is_erased:
        raise CaseErased()
    note = CaseNote(case=case, author_id=actor.id, author_org_id=actor.organisation_id, shareable=bool(shareable))
    note.body = body
    session.add(note)
    session.flush()
    writer.record("case.note_add", target=note, case_id=case.id, actor=actor, details={"shareable": bool(shareable)})
    return note


# -- status and assignment ----------------------------------------------------------------------
def close_case(
    case: Case, closed_on: date | None, expected_version: int | None, actor: Any, today: date | None = None
) -> None:
    """Close an open case. Raises VersionConflict, InputErrors."""
    today = today or date.today()
    if expected_version is None or expected_version != case.version_id:
        raise VersionConflict()
    errors = ErrorCollector()
    if case.status == "closed":
        errors.add("closed_on", _l("This case is already closed."))
    if closed_on is None:
        errors.add("closed_on", _l("Enter a date."))
    elif message := check_past_date(closed_on, today):
        errors.add("closed_on", message)
    elif closed_on < case.opened_on:
        errors.add("closed_on", _l("A case cannot close before it was opened."))
    from casework.plans import services as plans

    # With open items on the closure checklist, a supervisor's approved closure is needed.
    approval = plans.closure_gate(case, errors) if case.status != "closed" else None
    errors.raise_if_any()
    case.status = "closed"
    case.closed_on = closed_on
    plans.use_closure(approval)
    flush_versioned()
    details = {"approval": str(approval.id)} if approval is not None else None
    writer.record("case.close", target=case, case_id=case.id, actor=actor, details=details)


def reopen_case(case: Case, expected_version: int | None, actor: Any) -> None:
    """Reopen a closed case. Raises VersionConflict, InputErrors."""
    if expected_version is None or expected_version != case.version_id:
        raise VersionConflict()
    if case.status != "closed":
        raise InputErrors({"version_id": [str(_l("This case is not closed."))]})
    case.status = "open"
    case.closed_on = None
    flush_versioned()
    writer.record("case.reopen", target=case, case_id=case.id, actor=actor)


def assign_case(case: Case, assignee_id: uuid.UUID | None, expected_version: int | None, actor: Any) -> bool:
    """Assign the case to a caseworker of its organisation; False when nothing changed.

    Raises VersionConflict, InputErrors.
    """
    if expected_version is None or expected_version != case.version_id:
        raise VersionConflict()
    if assignee_id is None or assignee_id not in {u.id for u in assignable_users(case.owner_org_id)}:
        raise InputErrors({"assigned_to": [str(_l("Choose a caseworker of the case's organisation."))]})
    if case.assigned_to_id == assignee_id:
        return False
    case.assigned_to_id = assignee_id
    flush_versioned()
    writer.record(
        "case.assign", target=case, case_id=case.id, actor=actor, details={"assigned_to_id": str(assignee_id)}
    )
    return True
