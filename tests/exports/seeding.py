"""Bulk seeding of realistic consented cases for the release tests (Core inserts, no encryption:
exports read coded columns only).

Cases come from the skewed generator (casework.synthetic), all with active research consent,
owned by one organisation, created ``entered`` (default: 40 days ago, so before the start of
the current month: tables count the dataset as it stood then).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, insert

from casework import synthetic
from casework.db import session

MASK_COLUMNS = (
    "means_of_control",
    "exploitation_types",
    "labour_sectors",
    "sexual_exploitation_types",
    "recruiter_relationships",
)


def _profile_table() -> Table:
    """The profile table with its bitmask columns as plain integers."""
    from casework.cases.models import TraffickingProfile

    table = TraffickingProfile.__table__
    columns = [Column(c.name, BigInteger) if c.name in MASK_COLUMNS else c._copy() for c in table.columns]
    return Table(table.name, MetaData(), *columns)


def seed_consented(org_id: uuid.UUID, n: int, *, seed: int = 7, entered: datetime | None = None) -> None:
    """Insert ``n`` generated cases of ``org_id`` with research consent (caller commits)."""
    from casework.cases.models import Case
    from casework.consent.models import Consent

    data = synthetic.generate(n, synthetic.SyntheticParameters(seed=seed))
    entered = entered or datetime.now(UTC) - timedelta(days=40)
    given = (entered - timedelta(days=1)).date()
    prefix = uuid.uuid4().hex[:6]
    cases: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    for i in range(n):
        case_id = uuid.uuid4()
        year = int(data.year[i])
        cases.append(
            {
                "id": case_id,
                "reference": f"S{prefix}{i:07d}",
                "owner_org_id": org_id,
                "status": "open",
                "opened_on": date(year, 6, 1),
                "created_at": entered,
                "updated_at": entered,
                "version_id": 1,
                "gender": str(data.gender[i]) or None,
                "age_at_registration": _or_none(int(data.age[i])),
                "citizenship": str(data.citizenship[i]) or None,
                "country_of_exploitation": str(data.country_of_exploitation[i]) or None,
                "year_of_registration": year,
                "data_source": str(data.data_source[i]),
            }
        )
        profile: dict[str, Any] = {"id": uuid.uuid4(), "case_id": case_id, "updated_at": entered}
        for name in MASK_COLUMNS:
            profile[name] = _or_none(int(getattr(data, name)[i]))
        profile["age_at_exploitation_start"] = _or_none(int(data.age_at_exploitation_start[i]))
        abducted = int(data.abducted[i])
        profile["abducted"] = None if abducted < 0 else bool(abducted)
        profiles.append(profile)
        consents.append(
            {
                "id": uuid.uuid4(),
                "case_id": case_id,
                "purpose": "anonymised_research",
                "decision": "granted",
                "method": "written",
                "given_by": "victim",
                "given_on": given,
                "recorded_at": entered,
            }
        )
    session.execute(insert(Case.__table__), cases)
    session.execute(insert(_profile_table()), profiles)
    session.execute(insert(Consent.__table__), consents)


def _or_none(value: int) -> int | None:
    return value if value >= 0 else None
