"""Administration forms: organisations and user accounts."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from casework import vocab
from casework.admin.services import MAX_RETENTION_YEARS, MIN_RETENTION_YEARS


def no_control_characters(_form: Any, field: Field) -> None:
    """Refuse invisible control characters (they hide text in lists and audit views)."""
    value = field.data or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError(_l("Remove the invisible control characters."))


def _country_choices() -> list[tuple[str, Any]]:
    return [("", _l("— none —")), *vocab.countries_by_name()]


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=vocab.ORGANISATION_KINDS.choices, validators=[DataRequired()])
    country = SelectField(
        _l("Country"), choices=_country_choices, validators=[Optional()], render_kw={"data-typeahead": True}
    )
    retention_years = IntegerField(
        _l("Anonymise closed cases after (years)"),
        description=_l("Leave empty to keep closed cases until they are erased."),
        validators=[Optional(), NumberRange(MIN_RETENTION_YEARS, MAX_RETENTION_YEARS)],
    )


class OrganisationCreateForm(OrganisationForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), no_control_characters])


class OrganisationEditForm(OrganisationForm):
    active = BooleanField(_l("Active (its users can sign in)"))


class UserCreateForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid email address.")),
        ],
    )
    role = SelectField(_l("Role"), choices=vocab.ROLES.choices, validators=[DataRequired()])
    organisation_id = SelectField(_l("Organisation"), choices=[], validators=[DataRequired()])


class UserFilterForm(FlaskForm):
    """The user list's filters (a GET form: roles and organisations only, no personal data)."""

    class Meta:
        csrf = False

    role = SelectField(
        _l("Role"), choices=lambda: [("", _l("Any role")), *vocab.ROLES.choices()], validators=[Optional()]
    )
    organisation_id = SelectField(_l("Organisation"), choices=[], validators=[Optional()])
    status = SelectField(
        _l("Status"),
        choices=[("", _l("Any")), ("active", _l("Active")), ("inactive", _l("Deactivated")), ("locked", _l("Locked"))],
        validators=[Optional()],
    )


class PageActionForm(FlaskForm):
    """One of several forms on the same page, told apart by a prefix. The CSRF token is the
    page's single ``csrf_token`` field, checked for every POST by CSRFProtect (casework.security)."""

    class Meta:
        csrf = False


class RoleForm(PageActionForm):
    role = SelectField(_l("New role"), choices=vocab.ROLES.choices, validators=[DataRequired()])


class ConfirmForm(PageActionForm):
    """An action that needs nothing but the CSRF token (deactivate, reactivate)."""


class IdentityCheckedForm(PageActionForm):
    """Resetting a credential: the administrator confirms they verified who is asking."""

    identity_checked = BooleanField(
        _l("I have verified the identity of the person asking, as for a new account."),
        validators=[DataRequired(message=_l("Confirm that you verified the person's identity."))],
    )
