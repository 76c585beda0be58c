"""Audit and break-glass forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from casework.audit.break_glass import MAX_REASON_LENGTH


class BreakGlassSearchForm(FlaskForm):
    """Find another organisation's case of a person by what identifies them (never by a case
    reference, which could be guessed in sequence): the name with the date of birth, or an
    identity document number. Posted, so no name reaches a URL."""

    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=400)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    document_number = StringField(_l("Identity document number"), validators=[Optional(), Length(max=60)])


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need this case now?"),
        description=_l(
            "At least 20 characters. The case's organisation will read this. Do not write the person's name."
        ),
        validators=[DataRequired(), Length(max=MAX_REASON_LENGTH)],
    )


class EventFilterForm(FlaskForm):
    """Filters of the audit event list (a GET form: codes only)."""

    class Meta:
        csrf = False

    outcome = SelectField(
        _l("Outcome"),
        choices=[("", _l("Any")), ("ok", _l("Done")), ("refused", _l("Refused")), ("failed", _l("Failed"))],
        validators=[Optional()],
    )


class EndBreakGlassForm(FlaskForm):
    """End an emergency access: nothing but the CSRF token."""


class VerifyForm(FlaskForm):
    """The verify button: nothing but the CSRF token."""
