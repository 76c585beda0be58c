"""Audit and break-glass forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from casework.audit.break_glass import MAX_REASON_LENGTH


class BreakGlassForm(FlaskForm):
    reference = StringField(
        _l("Case reference"),
        description=_l("For example CT-2026-000123."),
        validators=[DataRequired(), Length(max=40)],
    )
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


class VerifyForm(FlaskForm):
    """The verify button: nothing but the CSRF token."""
