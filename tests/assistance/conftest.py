"""Fixtures for the assistance tests: a small world of organisations, users and a case, valid
input for each kind of service, and helpers to read raw columns and field errors."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from casework.assistance.models import SERVICE_MODELS, Service
from casework.db import get_db, session

TODAY = date.today()
FUTURE = (TODAY + timedelta(days=30)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()

# Valid input per kind, as a browser posts it (lists = several checked boxes).
GOOD: dict[str, dict[str, Any]] = {
    "shelter": {
        "status": "in_progress",
        "started_on": "2025-04-01",
        "shelter_type": "ngo_shelter",
        "facility": "Casa Esperanza, Via Roma 12",
        "admitted_on": "2025-04-01",
        "discharged_on": "2025-05-01",
        "notes": "Shares a room; feels safe.",
    },
    "legal": {
        "status": "in_progress",
        "started_on": "2025-04-02",
        "legal_services": ["counselling", "residence_permit_application"],
        "permit_status": "temporary_permit_granted",
        "permit_expires_on": FUTURE,
        "proceeding_type": "criminal",
        "proceeding_outcome": "pending",
        "representative": "Avv. Rossi",
        "notes": "Hearing postponed.",
    },
    "medical": {
        "status": "provided",
        "started_on": "2025-04-03",
        "ended_on": "2025-04-10",
        "care_types": ["primary_care", "dental"],
        "referred_to": "Ospedale San Paolo",
        "follow_up_on": FUTURE,
        "details": "Untreated fracture of the left wrist.",
        "notes": "Accompanied by caseworker.",
    },
    "psychosocial": {
        "status": "in_progress",
        "started_on": "2025-04-04",
        "support_types": ["individual_counselling", "peer_support"],
        "sessions_planned": "10",
        "sessions_attended": "4",
        "notes": "Prefers a female counsellor.",
    },
    "return": {
        "status": "needed",
        "destination_country": "NG",
        "destination_locality": "Benin City, Ugbowo",
        "travel_date": FUTURE,
        "documents_status": "documents_being_issued",
        "escorted": "yes",
        "risk_level": "medium",
        "risk_assessed_on": "2025-05-01",
        "reception_arranged": "yes",
        "reception_organisation": "NAPTIP shelter",
        "notes": "Family informed.",
    },
    "reintegration": {
        "status": "in_progress",
        "started_on": "2025-06-01",
        "components": ["vocational_training", "income_generation"],
        "plan_agreed_on": "2025-06-01",
        "grant_amount": "1250.50",
        "grant_currency": "EUR",
        "notes": "Tailoring course.",
    },
}

# Encrypted attributes per kind (besides the common notes): (form field, table, column).
ENCRYPTED: dict[str, list[tuple[str, str, str]]] = {
    "shelter": [("facility", "shelter_stays", "facility")],
    "legal": [],
    "medical": [("details", "medical_assistance", "details")],
    "psychosocial": [],
    "return": [("destination_locality", "return_assistance", "destination_locality")],
    "reintegration": [],
}

# A required field of each kind (besides the common status).
REQUIRED: dict[str, str] = {
    "shelter": "shelter_type",
    "legal": "legal_services",
    "medical": "care_types",
    "psychosocial": "support_types",
    "return": "destination_country",
    "reintegration": "components",
}

# A single-line text field of each kind (length and control-character checks).
LINE_FIELD: dict[str, str] = {
    "shelter": "facility",
    "legal": "representative",
    "medical": "referred_to",
    "psychosocial": "notes",
    "return": "destination_locality",
    "reintegration": "grant_currency",
}

KINDS = list(SERVICE_MODELS)


def field_error(page: str, field_id: str) -> str | None:
    """The error message shown next to a field (None when there is none)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def count_services(app: Any, case_id: uuid.UUID | None = None) -> int:
    with app.app_context():
        stmt = select(Service.id)
        if case_id is not None:
            stmt = stmt.where(Service.case_id == case_id)
        return len(session.execute(stmt).all())


def raw_column(app: Any, table: str, column: str, row_id: uuid.UUID | str) -> Any:
    """A column as stored in the database, read with Core (no ORM, no decryption)."""
    from casework.db import Base

    table_obj = Base.metadata.tables[table]
    with get_db(app).engine.connect() as conn:
        row_id = uuid.UUID(str(row_id))
        return conn.execute(select(table_obj.c[column]).where(table_obj.c.id == row_id)).scalar_one()


@pytest.fixture
def world(make_org: Callable[..., Any], make_user: Callable[..., Any], make_case: Callable[..., Any]) -> Any:
    """A lead agency with a caseworker (assigned), another caseworker (not assigned), a
    supervisor, one open case; a partner NGO with a partner user; another lead agency."""
    lead = make_org(kind="lead_agency")
    partner_org = make_org(kind="partner_ngo")
    other_lead = make_org(kind="lead_agency")
    caseworker = make_user("caseworker", org=lead)
    return SimpleNamespace(
        lead=lead,
        partner_org=partner_org,
        other_lead=other_lead,
        caseworker=caseworker,
        unassigned=make_user("caseworker", org=lead),
        supervisor=make_user("supervisor", org=lead),
        partner=make_user("partner", org=partner_org),
        outsider=make_user("caseworker", org=other_lead),
        case=make_case(lead, assigned_to=caseworker),
    )


@pytest.fixture
def make_service(app: Any) -> Callable[..., Service]:
    """Create a service directly (the forms have their own tests)."""

    def make(case: Any, kind: str = "shelter", provider: Any = None, status: str = "needed", **fields: Any) -> Service:
        with app.app_context():
            service = SERVICE_MODELS[kind](case_id=case.id, status=status, **fields)
            service.provider_org_id = provider.id if provider is not None else None
            session.add(service)
            session.commit()
            return service

    return make


@pytest.fixture
def load(app: Any) -> Callable[..., Any]:
    """Read a service back through the ORM (decrypted), detached for assertions."""

    def get(service_id: uuid.UUID | str) -> Any:
        with app.app_context():
            service = session.get(Service, uuid.UUID(str(service_id)))
            if service is None:
                return None
            values = {c.key: getattr(service, c.key) for c in type(service).__mapper__.column_attrs}
            for name in (
                "notes", "facility", "details", "destination_locality", "representative", "referred_to",
                "reception_organisation",
            ):  # fmt: skip
                if hasattr(service, name):
                    values[name] = getattr(service, name)
            return SimpleNamespace(**values)

    return get
