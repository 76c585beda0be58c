"""Account and organisation administration. Services audit and flush; views commit."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casework import vocab
from casework.audit import writer as audit
from casework.auth import passwords
from casework.auth.models import Organisation, User
from casework.auth.services import normalise_email
from casework.db import session

ROLE_ORG_KINDS = {
    "admin": ("lead_agency",),
    "supervisor": ("lead_agency", "government"),
    "caseworker": ("lead_agency", "government"),
    "partner": ("partner_ngo", "government"),
    "researcher": ("research",),
}


class AccountError(ValueError):
    """An account change was refused; ``str(error)`` is a message for the user."""


def default_org_kind(role: str) -> str:
    return ROLE_ORG_KINDS.get(role, ("lead_agency",))[0]


def get_or_create_organisation(name: str, kind: str, actor: Any = None) -> Organisation:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise AccountError(_("An organisation needs a name of at most 200 characters."))
    if kind not in vocab.ORGANISATION_KINDS:
        raise AccountError(_("Unknown organisation kind."))
    org = session.execute(select(Organisation).where(Organisation.name == name)).scalar_one_or_none()
    if org is None:
        org = Organisation(name=name, kind=kind)
        session.add(org)
        session.flush()
        audit.record("org.create", target=org, actor=actor, details={"kind": kind})
    return org


def create_user(
    *,
    email: str,
    display_name: str,
    role: str,
    organisation: Organisation,
    password: str,
    must_change_password: bool,
    actor: Any,
) -> User:
    """Create an account. Raises AccountError (duplicate email, role not allowed in the
    organisation's kind) or PasswordPolicyError."""
    email = normalise_email(email)
    if role not in vocab.ROLES:
        raise AccountError(_("Unknown role."))
    if "@" not in email or len(email) > 254:
        raise AccountError(_("Enter a valid email address."))
    if organisation.kind not in ROLE_ORG_KINDS[role]:
        raise AccountError(_("This role cannot belong to this kind of organisation."))
    if session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise AccountError(_("An account with this email already exists."))
    display_name = " ".join(display_name.split())[:120] or email
    user = User(
        email=email,
        display_name=display_name,
        role=role,
        organisation=organisation,
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record("user.create", target=user, actor=actor, details={"role": role})
    return user
