"""Dashboard figures: SQL aggregates (GROUP BY) over plain coded columns, scoped to the user.

Every query carries ``access.case_scope(user)``: a supervisor counts the organisation's cases,
a caseworker the cases assigned to them. No query reads an encrypted column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import extract, func, select

from casework import access
from casework.assistance.models import Service
from casework.cases.models import Case
from casework.db import session
from casework.partners.models import Referral

OPEN_STATUSES = ("open", "in_assistance")
UNFINISHED_SERVICE_STATUSES = ("needed", "referred", "in_progress")
RETURN_KINDS = ("return", "reintegration")


@dataclass(frozen=True)
class Dashboard:
    open_by_status: dict[str, int]
    new_by_month: list[tuple[date, int]]  # first day of the month, count; oldest first
    services_by_kind_status: dict[tuple[str, str], int]
    returns_in_progress: dict[tuple[str, str], int]  # (kind, status) of unfinished returns/reintegrations
    referrals_waiting: dict[str, int]  # service kind -> pending referrals from the organisation
    oldest_waiting: date | None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())

    @property
    def referrals_waiting_total(self) -> int:
        return sum(self.referrals_waiting.values())


def months_back(today: date, count: int) -> list[date]:
    """The first days of the last ``count`` months, oldest first, the current month last."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def open_by_status(user: Any) -> dict[str, int]:
    rows = session.execute(
        select(Case.status, func.count(Case.id))
        .where(access.case_scope(user), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.status)
    )
    return {status: count for status, count in rows}


def new_by_month(user: Any, today: date, months: int = 12) -> list[tuple[date, int]]:
    firsts = months_back(today, months)
    year, month = extract("year", Case.opened_on), extract("month", Case.opened_on)
    rows = session.execute(
        select(year, month, func.count(Case.id))
        .where(access.case_scope(user), Case.opened_on >= firsts[0], Case.opened_on <= today)
        .group_by(year, month)
    )
    counts = {(int(y), int(m)): count for y, m, count in rows}
    return [(first, counts.get((first.year, first.month), 0)) for first in firsts]


def services_by_kind_status(user: Any) -> dict[tuple[str, str], int]:
    # IN (scoped case ids), not a join: the database then reads the covering index
    # ix_services_case_id_kind_status for those cases instead of every service row.
    scoped_ids = select(Case.id).where(access.case_scope(user))
    rows = session.execute(
        select(Service.kind, Service.status, func.count())
        .where(Service.case_id.in_(scoped_ids), access.service_scope(user))
        .group_by(Service.kind, Service.status)
    )
    return {(kind, status): count for kind, status, count in rows}


def referrals_waiting(user: Any) -> tuple[dict[str, int], date | None]:
    """Pending referrals sent by the user's organisation, by kind, and the oldest one's date."""
    rows = session.execute(
        select(Referral.service_kind, func.count(Referral.id), func.min(Referral.created_at))
        .join(Case, Case.id == Referral.case_id)
        .where(
            access.case_scope(user),
            Referral.status == "pending",
            Referral.from_org_id == user.organisation_id,
        )
        .group_by(Referral.service_kind)
    )
    counts: dict[str, int] = {}
    oldest = None
    for kind, count, first in rows:
        counts[kind] = count
        if first is not None:
            day = first.date() if hasattr(first, "date") else first
            oldest = day if oldest is None or day < oldest else oldest
    return counts, oldest


def dashboard(user: Any, today: date | None = None) -> Dashboard:
    today = today or date.today()
    services = services_by_kind_status(user)
    waiting, oldest = referrals_waiting(user)
    return Dashboard(
        open_by_status=open_by_status(user),
        new_by_month=new_by_month(user, today),
        services_by_kind_status=services,
        returns_in_progress={
            key: count
            for key, count in services.items()
            if key[0] in RETURN_KINDS and key[1] in UNFINISHED_SERVICE_STATUSES
        },
        referrals_waiting=waiting,
        oldest_waiting=oldest,
    )
