"""Demo organisations and one demo account per role (never for production: the CLI refuses)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from casework.admin import services as admin_services
from casework.auth import services as auth_services
from casework.auth.models import Organisation, User
from casework.db import session

LEAD_ORG = "Demo Lead Agency"
PARTNER_ORG = "Demo Partner NGO"
RESEARCH_ORG = "Demo Research Institute"
# (role, display name, which organisation: "lead", "partner" or "research")
ROLES = (
    ("admin", "Demo Administrator", "lead"),
    ("supervisor", "Demo Supervisor", "lead"),
    ("caseworker", "Demo Caseworker", "lead"),
    ("partner", "Demo Partner Caseworker", "partner"),
    ("researcher", "Demo Researcher", "research"),
)
TOTP_ROLES = ("admin", "supervisor")  # the app makes these enrol two-factor authentication


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    email: str
    organisation: str
    password: str | None  # None: the account already existed, its password is unchanged
    totp_secret: str | None = None


@dataclass(frozen=True, slots=True)
class DemoOrganisations:
    lead: Organisation
    partner: Organisation
    research: Organisation


def demo_email(role: str, org_name: str) -> str:
    """``caseworker@demo-lead-agency.example.org``: a reserved domain named after the account's
    own organisation (the partner's is the partner NGO's, not the lead agency's)."""
    slug = re.sub(r"[^a-z0-9]+", "-", org_name.casefold()).strip("-") or "demo"
    return f"{role}@{slug[:60]}.example.org"


def demo_organisations(lead_org_name: str = LEAD_ORG) -> DemoOrganisations:
    """The lead agency (named), the demo partner NGO and research institute; created if missing.
    Raises AccountError for an unusable name or an existing organisation of another kind."""
    lead = admin_services.get_or_create_organisation(lead_org_name, "lead_agency")
    if lead.kind != "lead_agency":
        raise admin_services.AccountError(f"{lead.name!r} exists and is not a lead agency")
    partner = admin_services.get_or_create_organisation(PARTNER_ORG, "partner_ngo")
    research = admin_services.get_or_create_organisation(RESEARCH_ORG, "research")
    return DemoOrganisations(lead, partner, research)


def ensure_demo_accounts(orgs: DemoOrganisations, with_totp: bool = False) -> list[DemoAccount]:
    """One account per role; existing ones (same email) are left as they are, and no demo
    administrator is added where an active administrator exists (it is reported instead: a
    second one would only be a second set of credentials to guard).

    New accounts get a random password (returned once, for printing). With ``with_totp``, new
    admin and supervisor accounts get a TOTP secret (returned) instead of enrolling at first
    sign-in. Flushes; the caller commits.
    """
    by_kind = {"lead": orgs.lead, "partner": orgs.partner, "research": orgs.research}
    accounts = []
    for role, display_name, org_kind in ROLES:
        org = by_kind[org_kind]
        email = demo_email(role, org.name)
        if session.execute(select(User.id).where(User.email == email)).first() is not None:
            accounts.append(DemoAccount(role, email, org.name, None))
            continue
        if role == "admin" and (existing := _active_admin()) is not None:
            accounts.append(DemoAccount(role, existing.email, existing.organisation.name, None))
            continue
        password = _demo_password()
        user = admin_services.create_user(
            email=email,
            display_name=display_name,
            role=role,
            organisation=org,
            password=password,
            must_change_password=False,
            actor=None,
        )
        secret = None
        if with_totp and role in TOTP_ROLES:
            secret = auth_services.new_totp_secret()
            user.totp_secret = secret
            user.totp_enabled = True
        accounts.append(DemoAccount(role, email, org.name, password, secret))
    session.flush()
    return accounts


def _active_admin() -> User | None:
    return session.execute(
        select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.created_at).limit(1)
    ).scalar_one_or_none()


def _demo_password() -> str:
    # Random, never a fixed string in source: a demo database can end up reachable.
    return "demo-" + secrets.token_urlsafe(12)
