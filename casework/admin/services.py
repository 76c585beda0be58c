"""Account and organisation administration. Services audit and flush; views commit."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from casework import access, vocab
from casework.audit import writer as audit
from casework.auth import passwords
from casework.auth.models import Organisation, User
from casework.auth.services import normalise_email
from casework.db import session

ALL_ORG_KINDS = ("lead_agency", "partner_ngo", "government", "research")
ROLE_ORG_KINDS = {
    # Every organisation may have its own administrators; the operator may sit in any.
    "admin": ALL_ORG_KINDS,
    "operator": ALL_ORG_KINDS,
    "supervisor": ("lead_agency", "government"),
    "caseworker": ("lead_agency", "government"),
    "partner": ("partner_ngo", "government"),
    "researcher": ("research",),
}


MIN_RETENTION_YEARS = 1
MAX_RETENTION_YEARS = 100


class AccountError(ValueError):
    """An account change was refused; ``str(error)`` is a message for the user and ``field``
    names the form field it is about (None: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LastAdminError(AccountError):
    """The change would leave the system without an active administrator."""


class AccountStateError(AccountError):
    """The account is already in the state asked for (e.g. deactivating an inactive one)."""


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
    """Create an account. ``actor`` None is the command line (any role, the operator's
    included); an administrator creates accounts of its own organisation only, the operator
    administrators only (``access.user_scope``). Raises AccountError (duplicate email, role
    not allowed in the organisation's kind or to the actor, another organisation) or
    PasswordPolicyError."""
    email = normalise_email(email)
    if role not in vocab.ROLES:
        raise AccountError(_("Unknown role."), "role")
    if actor is not None:
        if role not in access.assignable_roles(actor):
            raise AccountError(_("You cannot give this role."), "role")
        if not access.may_administer_organisation(actor, organisation.id):
            raise AccountError(_("You can only create accounts in your own organisation."), "organisation_id")
    if "@" not in email or len(email) > 254:
        raise AccountError(_("Enter a valid email address."), "email")
    if organisation.kind not in ROLE_ORG_KINDS[role]:
        raise AccountError(_("This role cannot belong to this kind of organisation."), "role")
    if not organisation.active:
        raise AccountError(_("This organisation is deactivated."), "organisation_id")
    if session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise AccountError(_("An account with this email already exists."), "email")
    display_name = " ".join(display_name.split())[:120] or email
    user = User(
        email=email,
        display_name=display_name,
        role=role,
        organisation=organisation,
        password_hash=passwords.hash_password(
            password, passwords.context_for(email=email, name=display_name, organisation=organisation.name)
        ),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record("user.create", target=user, actor=actor, details={"role": role})
    _notify(user, "user.create", actor)
    return user


def _notify(user: User, kind: str, actor: Any) -> None:
    """Every administrator's action on an account is shown to its organisation's supervisors."""
    if actor is None:
        return  # the command line, run by whoever runs the host: audited, not an administrator's act
    from casework.notifications import services as notices

    notices.notify(user.organisation_id, kind, actor=actor, subject_user_id=user.id)


def _check_administers(user: User, actor: Any) -> None:
    """Raises AccountError unless ``actor`` administers ``user`` (views load only such users;
    this holds for any other caller too)."""
    if actor is None:
        return
    allowed = session.execute(select(User.id).where(User.id == user.id, access.user_scope(actor))).first()
    if allowed is None:
        raise AccountError(_("You do not administer this account."))


# -- one-time passwords ---------------------------------------------------------------------------
def generate_one_time_password() -> str:
    """A random password for a new or reset account: shown once, to be changed at first sign-in."""
    while True:
        candidate = secrets.token_urlsafe(15)  # 20 characters, ~120 bits
        try:
            passwords.check_policy(candidate)
        except passwords.PasswordPolicyError:
            continue
        return candidate


# -- organisations ------------------------------------------------------------------------------
def _check_org_values(kind: str, country: str | None, retention_years: int | None) -> None:
    if kind not in vocab.ORGANISATION_KINDS:
        raise AccountError(_("Unknown organisation kind."), "kind")
    if country is not None and country not in vocab.COUNTRIES:
        raise AccountError(_("Unknown country."), "country")
    if retention_years is not None and not MIN_RETENTION_YEARS <= retention_years <= MAX_RETENTION_YEARS:
        raise AccountError(
            _(
                "Retention must be between %(low)d and %(high)d years.",
                low=MIN_RETENTION_YEARS,
                high=MAX_RETENTION_YEARS,
            ),
            "retention_years",
        )


def create_organisation(
    *, name: str, kind: str, country: str | None, retention_years: int | None, actor: Any
) -> Organisation:
    """Create an organisation. Raises AccountError (bad value, duplicate name)."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise AccountError(_("An organisation needs a name of at most 200 characters."), "name")
    _check_org_values(kind, country, retention_years)
    if session.execute(select(Organisation.id).where(Organisation.name == name)).first() is not None:
        raise AccountError(_("An organisation with this name already exists."), "name")
    org = Organisation(name=name, kind=kind, country=country, retention_years=retention_years, active=True)
    session.add(org)
    session.flush()
    audit.record("org.create", target=org, actor=actor, details={"kind": kind})
    return org


def update_organisation(
    org: Organisation,
    *,
    kind: str,
    country: str | None,
    active: bool,
    retention_years: int | None,
    actor: Any,
) -> list[str]:
    """Change an organisation; returns the names of the fields that changed.

    Raises AccountError for a bad value, a kind its members' roles do not allow, or a
    deactivation that would lock every administrator out (or the acting one out of it).
    Deactivation ends every session of the organisation's users.
    """
    _check_org_values(kind, country, retention_years)
    if kind != org.kind:
        misfits = session.execute(select(User.role).where(User.organisation_id == org.id).distinct()).scalars()
        if any(kind not in ROLE_ORG_KINDS.get(role, ()) for role in misfits):
            raise AccountError(
                _("Some of this organisation's users have roles this kind of organisation cannot have."), "kind"
            )
    if org.active and not active:
        if actor is not None and getattr(actor, "organisation_id", None) == org.id:
            raise AccountError(_("You cannot deactivate your own organisation."), "active")
        if active_admin_count(exclude_org=org) == 0:
            raise LastAdminError(_("This would leave no active administrator."), "active")
    changed = [
        name
        for name, new in (
            ("kind", kind),
            ("country", country),
            ("active", active),
            ("retention_years", retention_years),
        )
        if getattr(org, name) != new
    ]
    if not changed:
        return changed
    org.kind, org.country, org.active, org.retention_years = kind, country, active, retention_years
    if "active" in changed and not active:
        # Every session of every member ends now (their epoch moves on).
        session.execute(
            update(User)
            .where(User.organisation_id == org.id)
            .values(session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session="fetch")
        )
    audit.record(
        "org.update",
        target=org,
        actor=actor,
        details={"changed": changed, "kind": kind, "active": active},
    )
    if actor is not None:
        from casework.notifications import services as notices

        notices.notify(org.id, "org.update", actor=actor)
    session.flush()
    return changed


# -- users --------------------------------------------------------------------------------------
def active_admin_count(exclude_user: User | None = None, exclude_org: Organisation | None = None) -> int:
    """Administrators and platform operators who can still sign in (account and organisation
    active): while one remains, accounts can be administered."""
    query = (
        select(func.count())
        .select_from(User)
        .join(Organisation, User.organisation_id == Organisation.id)
        .where(User.role.in_(("admin", "operator")), User.active.is_(True), Organisation.active.is_(True))
    )
    if exclude_user is not None:
        query = query.where(User.id != exclude_user.id)
    if exclude_org is not None:
        query = query.where(User.organisation_id != exclude_org.id)
    return int(session.execute(query).scalar_one())


def _refuse_self(user: User, actor: Any, message: str) -> None:
    if actor is not None and getattr(actor, "id", None) == user.id:
        raise AccountError(message)


def _refuse_last_admin(user: User) -> None:
    if user.role in ("admin", "operator") and user.active and active_admin_count(exclude_user=user) == 0:
        raise LastAdminError(_("This is the last active administrator: the system would have none."))


def change_role(user: User, role: str, actor: Any) -> None:
    """Give ``user`` another role. Raises AccountError (unknown role, not allowed in the user's
    organisation kind, own account), AccountStateError (the same role) or LastAdminError.
    Ends the user's sessions."""
    if role not in vocab.ROLES:
        raise AccountError(_("Unknown role."), "role")
    _check_administers(user, actor)
    if role == user.role:
        raise AccountStateError(_("The account has this role already."), "role")
    _refuse_self(user, actor, _("You cannot change your own role; ask another administrator."))
    if actor is not None and role not in access.assignable_roles(actor):
        raise AccountError(_("You cannot give this role."), "role")
    if user.organisation.kind not in ROLE_ORG_KINDS[role]:
        raise AccountError(_("This role cannot belong to this kind of organisation."), "role")
    if role != "admin":
        _refuse_last_admin(user)
    old = user.role
    user.role = role
    # New duties may need two-factor enrolment, old pages must close: start over.
    user.session_epoch += 1
    audit.record("user.role_change", target=user, actor=actor, details={"from": old, "to": role})
    _notify(user, "user.role_change", actor)
    session.flush()


def deactivate_user(user: User, actor: Any) -> None:
    """Deactivate an account and end every session of it. Raises AccountError (own account)
    or LastAdminError, or AccountStateError when it is already deactivated."""
    _check_administers(user, actor)
    if not user.active:
        raise AccountStateError(_("This account is already deactivated."))
    _refuse_self(user, actor, _("You cannot deactivate your own account; ask another administrator."))
    _refuse_last_admin(user)
    user.active = False
    user.session_epoch += 1
    audit.record("user.deactivate", target=user, actor=actor)
    _notify(user, "user.deactivate", actor)
    session.flush()


def reactivate_user(user: User, actor: Any) -> None:
    """Let a deactivated account sign in again (and clear any lockout). Raises
    AccountStateError when it is active already."""
    _check_administers(user, actor)
    if user.active:
        raise AccountStateError(_("This account is already active."))
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    audit.record("user.reactivate", target=user, actor=actor)
    _notify(user, "user.reactivate", actor)
    session.flush()


def reset_password(user: User, actor: Any) -> str:
    """Give the account a new one-time password (returned, to be shown once) that must be
    changed at the next sign-in; clears any lockout and ends every session of the user.
    Raises AccountError for one's own account (the password page is for that)."""
    _check_administers(user, actor)
    _refuse_self(user, actor, _("Change your own password on the password page."))
    password = generate_one_time_password()
    user.password_hash = passwords.hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_epoch += 1
    audit.record("user.password_reset", target=user, actor=actor)
    _notify(user, "user.password_reset", actor)
    session.flush()
    return password


def reset_two_factor(user: User, actor: Any) -> None:
    """Forget the account's authenticator (lost phone): the user enrols a new one at the next
    sign-in (mandatory for admins and supervisors). Ends every session of the user.
    Raises AccountError for one's own account (another administrator must do it)."""
    _check_administers(user, actor)
    _refuse_self(user, actor, _("Ask another administrator to reset your two-factor authentication."))
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    user.session_epoch += 1
    audit.record("user.totp_reset", target=user, actor=actor)
    _notify(user, "user.totp_reset", actor)
    session.flush()
