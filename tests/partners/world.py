"""A small world for consent, referral and retention tests: a lead agency with a caseworker
and a supervisor, two partner NGOs with a user each, staff of another lead agency, a
researcher, an admin, and one case holding unique, greppable identifying strings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session

GIVEN = "Zephyrine"
FAMILY = "Quillfeather"
ALIAS = "Zeffi"
PHONE = "+234 803 555 0199"
EMAIL = "zq.unique@example.net"
DOCUMENT = "ZQ9876543"
ADDRESS = "17 Larkspur Close"


@dataclass
class World:
    app: Flask
    lead: Any
    partner_org: Any
    other_partner_org: Any
    other_lead: Any
    caseworker: Any
    supervisor: Any
    partner: Any
    other_partner: Any
    other_caseworker: Any
    researcher: Any
    admin: Any
    case: Any
    login: Callable[..., Any]

    def client_for(self, user: Any) -> Any:
        client = self.app.test_client()
        self.login(client, user)
        return client


def build_world(app: Flask, make_org: Any, make_user: Any, make_case: Any, login: Any) -> World:
    lead = make_org("Lead Agency", kind="lead_agency")
    other_lead = make_org("Other Agency", kind="lead_agency")
    partner_org = make_org("Shelter Partner", kind="partner_ngo")
    other_partner_org = make_org("Legal Partner", kind="partner_ngo")
    caseworker = make_user("caseworker", org=lead)
    supervisor = make_user("supervisor", org=lead)
    partner = make_user("partner", org=partner_org)
    other_partner = make_user("partner", org=other_partner_org)
    other_caseworker = make_user("caseworker", org=other_lead)
    researcher = make_user("researcher")
    admin = make_user("admin", org=lead)
    case = make_case(
        lead,
        assigned_to=caseworker,
        given_name=GIVEN,
        family_name=FAMILY,
        aliases=ALIAS,
        phone=PHONE,
        email=EMAIL,
        document_number=DOCUMENT,
        document_type="passport",
        address=ADDRESS,
        languages="Yoruba, English",
        date_of_birth=date(1999, 5, 4),
    )
    return World(
        app, lead, partner_org, other_partner_org, other_lead, caseworker, supervisor, partner, other_partner,
        other_caseworker, researcher, admin, case, login,
    )  # fmt: skip


def audit_actions(app: Flask, outcome: str | None = None) -> list[str]:
    """Actions in the audit log, oldest first (optionally only those with ``outcome``)."""
    with app.app_context():
        query = select(AuditEvent.action).order_by(AuditEvent.id)
        if outcome is not None:
            query = query.where(AuditEvent.outcome == outcome)
        return list(session.execute(query).scalars())
