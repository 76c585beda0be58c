"""Case lists (filters, sorting, pages) and search through the blind indexes (exact, and
tolerant by name: casework.cases.names).

Every query starts from ``access.case_scope``. A page runs a fixed number of queries whatever
its length: a count, the page of cases with their assignees (joined) and profiles (one
``selectin`` query), and one grouped query for the services of all the rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import joinedload

from casework import access
from casework.assistance.models import Service
from casework.cases import names
from casework.cases.models import Case
from casework.cases.services import compute_indexes
from casework.db import session

SORT_COLUMNS = {
    "reference": Case.reference,
    "opened": Case.opened_on,
    "status": Case.status,
    "updated": Case.updated_at,
}
MAX_SEARCH_RESULTS = 100
# A list filter of its own (not a case status): open or in assistance, the dashboard's open cases.
ACTIVE = "active"
ACTIVE_STATUSES = ("open", "in_assistance")
# Assistance not yet provided or declined (the dashboard's returns and reintegrations under way).
PENDING_SERVICE_STATUSES = ("needed", "referred", "in_progress")


@dataclass(frozen=True)
class CaseFilters:
    view: str = "mine"  # mine | org
    status: str | None = None
    kind: str | None = None
    pending: bool = False  # with ``kind``: only assistance not yet provided or declined
    country: str | None = None
    assigned_to_id: uuid.UUID | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    sort: str = "opened"
    direction: str = "desc"
    page: int = 1
    per_page: int = 25

    @classmethod
    def from_form(cls, form: Any) -> CaseFilters:
        """From a validated CaseListForm (whose fields bound every value)."""

        def value(name: str) -> Any:
            return form[name].data if name in form and form[name].data not in ("", None) else None

        assigned = value("assigned")
        return cls(
            view=value("view") or "mine",
            status=value("status"),
            kind=value("kind"),
            pending=bool(value("pending")),
            country=value("country"),
            assigned_to_id=uuid.UUID(assigned) if assigned else None,
            opened_from=value("opened_from"),
            opened_to=value("opened_to"),
            sort=value("sort") or "opened",
            direction=value("direction") or "desc",
            page=value("page") or 1,
            per_page=int(value("per_page") or 25),
        )


@dataclass
class CaseRow:
    """One line of a case list: what the user may see of the case, and a few joined facts."""

    case: access.RedactedCase
    assignee_name: str | None
    services: dict[str, int] = field(default_factory=dict)  # kind -> count

    @property
    def service_count(self) -> int:
        return sum(self.services.values())


@dataclass
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def filter_conditions(user: Any, filters: CaseFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [access.case_scope(user)]
    if filters.view == "mine":
        conditions.append(Case.assigned_to_id == user.id)
    if filters.status == ACTIVE:
        conditions.append(Case.status.in_(ACTIVE_STATUSES))
    elif filters.status:
        conditions.append(Case.status == filters.status)
    if filters.kind:
        # An uncorrelated IN (not a correlated EXISTS): the database collects the service kind's
        # case ids once instead of searching the services once per case.
        services = select(Service.case_id).where(Service.kind == filters.kind)
        if filters.pending:
            services = services.where(Service.status.in_(PENDING_SERVICE_STATUSES))
        conditions.append(Case.id.in_(services))
    if filters.country:
        conditions.append(or_(Case.citizenship == filters.country, Case.country_of_exploitation == filters.country))
    if filters.assigned_to_id:
        conditions.append(Case.assigned_to_id == filters.assigned_to_id)
    if filters.opened_from:
        conditions.append(Case.opened_on >= filters.opened_from)
    if filters.opened_to:
        conditions.append(Case.opened_on <= filters.opened_to)
    return conditions


def list_cases(user: Any, filters: CaseFilters) -> CasePage:
    """One page of the user's cases; a page past the end shows the last page."""
    conditions = filter_conditions(user, filters)
    total = session.execute(select(func.count(Case.id)).where(*conditions)).scalar_one()
    page = CasePage([], total, filters.page, filters.per_page)
    page.page = min(filters.page, page.pages)
    if total == 0:
        return page
    column = SORT_COLUMNS[filters.sort]
    order = column.desc() if filters.direction == "desc" else column.asc()
    tie = Case.reference.desc() if filters.direction == "desc" else Case.reference.asc()
    cases = session.execute(
        select(Case)
        .where(*conditions)
        .options(joinedload(Case.assignee))
        .order_by(order, tie)
        .offset((page.page - 1) * filters.per_page)
        .limit(filters.per_page)
    ).scalars()
    page.rows = rows_for(user, list(cases))
    return page


def rows_for(user: Any, cases: list[Case]) -> list[CaseRow]:
    """Redacted rows with assignee names (already loaded) and service counts (one query)."""
    counts: dict[uuid.UUID, dict[str, int]] = {}
    if cases:
        grouped = session.execute(
            select(Service.case_id, Service.kind, func.count(Service.id))
            .where(Service.case_id.in_([case.id for case in cases]), access.service_scope(user))
            .group_by(Service.case_id, Service.kind)
        )
        for case_id, kind, count in grouped:
            counts.setdefault(case_id, {})[kind] = count
    return [
        CaseRow(
            case=access.redact(user, case),
            assignee_name=case.assignee.display_name if case.assignee is not None else None,
            services=dict(sorted(counts.get(case.id, {}).items())),
        )
        for case in cases
    ]


def search_cases(
    user: Any, full_name: str | None, date_of_birth: date | None, document_number: str | None
) -> list[CaseRow]:
    """A name alone: tolerant search (casework.cases.names: whole tokens, prefixes, sound-alikes;
    ranked exact > token > prefix > phonetic). With a date of birth or a document number: exact
    search, every given criterion must match (name and date of birth together use the name +
    date of birth index). Limited to the user's scope; at most MAX_SEARCH_RESULTS."""
    # Under the user's organisation's key: a search finds its own organisation's cases only
    # (another organisation's are reached by emergency access, casework.audit.break_glass).
    indexes = compute_indexes(full_name, None, date_of_birth, document_number, user.organisation_id)
    if full_name and date_of_birth is None and not document_number:
        ids = names.ranked_case_ids(user, full_name, indexes.name, MAX_SEARCH_RESULTS)
        if not ids:
            return []
        found = {
            case.id: case
            for case in session.execute(
                select(Case).where(Case.id.in_(ids), access.case_scope(user)).options(joinedload(Case.assignee))
            ).scalars()
        }
        return rows_for(user, [found[i] for i in ids if i in found])
    conditions: list[ColumnElement[bool]] = [access.case_scope(user)]
    if full_name:
        wanted = indexes.name_dob if date_of_birth is not None else indexes.name
        if wanted is None:  # nothing left after normalising: never match "no name"
            return []
        conditions.append((Case.name_dob_bidx if date_of_birth is not None else Case.name_bidx) == wanted)
    if document_number:
        if indexes.document is None:
            return []
        conditions.append(Case.document_bidx == indexes.document)
    if len(conditions) == 1:
        return []
    cases = session.execute(
        select(Case)
        .where(*conditions)
        .options(joinedload(Case.assignee))
        .order_by(Case.opened_on.desc(), Case.reference.desc())
        .limit(MAX_SEARCH_RESULTS)
    ).scalars()
    return rows_for(user, list(cases))
