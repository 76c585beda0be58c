"""Consent forms, and small validators the consent and partner forms share."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from casework import vocab

# Bidirectional embedding/override/isolate controls can make text display differently from
# what it is (spoofing); the other Cc controls have no place in typed text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_characters(text: str, multiline: bool) -> bool:
    allowed = {"\n", "\r", "\t"} if multiline else {"\t"}
    for char in text:
        if char in _BIDI_CONTROLS:
            return True
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return True
    return False


class NoControlCharacters:
    """Refuse control characters (line breaks only where ``multiline``)."""

    def __init__(self, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and has_control_characters(str(field.data), self.multiline):
            raise ValidationError(str(_l("Remove the control characters from this text.")))


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def with_placeholder(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _l("Choose…")), *choices]


class ConsentForm(FlaskForm):
    purpose = SelectField(
        _l("Purpose"), choices=with_placeholder(vocab.CONSENT_PURPOSES.choices()), validators=[DataRequired()]
    )
    organisation_id = SelectField(
        _l("Organisation"),
        description=_l("Required when the purpose is sharing with a named organisation for a referral."),
        choices=[],
        validators=[Optional()],
    )
    decision = RadioField(_l("Decision"), choices=vocab.CONSENT_DECISIONS.choices(), validators=[InputRequired()])
    method = SelectField(
        _l("How it was given"), choices=with_placeholder(vocab.CONSENT_METHODS.choices()), validators=[DataRequired()]
    )
    given_by = SelectField(
        _l("Given by"),
        description=_l("For a child, a guardian or legal representative gives consent."),
        choices=with_placeholder(vocab.CONSENT_GIVERS.choices()),
        validators=[DataRequired()],
    )
    giver_name = StringField(
        _l("Name of the guardian or representative"),
        description=_l("Required unless the person assisted gave it themself."),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200), NoControlCharacters()],
    )
    given_on = DateField(_l("Date given"), validators=[InputRequired()], default=date.today)
    expires_on = DateField(
        _l("Expires on"), description=_l("Leave empty if it does not expire."), validators=[Optional()]
    )
    notes = TextAreaField(
        _l("Notes"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=2000), NoControlCharacters(multiline=True)],
    )


class WithdrawConsentForm(FlaskForm):
    withdrawn_on = DateField(_l("Date withdrawn"), validators=[InputRequired()], default=date.today)
    # Required (by the view) only when referrals rest on the consent: they are listed above it.
    confirm_revocations = BooleanField(_l("Revoke these referrals with the withdrawal"))
    # The referrals the user was shown (their ids): a confirmation holds only for that list.
    shown_revocations = HiddenField()
