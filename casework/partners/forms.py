"""Referral, response, note and summary forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from casework import vocab
from casework.cases.forms import MAX_PAGE, IntegerFieldWithMessage, OptionalSelectField, a_date, code_choices
from casework.consent.forms import NoControlCharacters, strip_filter, with_placeholder
from casework.partners.services import DEFAULT_SCOPE


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReferralForm(FlaskForm):
    to_org_id = SelectField(_l("Refer to"), choices=[], validators=[DataRequired()])
    service_kind = SelectField(
        _l("For which assistance"), choices=with_placeholder(vocab.SERVICE_KINDS.choices()), validators=[DataRequired()]
    )
    field_scope = MultiCheckboxField(
        _l("What the partner will see"),
        description=_l(
            "Share only what the partner needs to help. "
            "Identity documents, address and contact details can locate the person."
        ),
        choices=vocab.REFERRAL_SCOPE_FIELDS.choices(),
        default=list(DEFAULT_SCOPE),
    )
    confirm_sensitive = BooleanField(_l("The partner needs the identity document, address or contact details I chose"))
    message = TextAreaField(
        _l("Message to the partner"),
        description=_l("What you ask for. Do not write names or details the partner will not see: they are masked."),
        filters=[strip_filter],
        validators=[Optional(), Length(max=2000), NoControlCharacters(multiline=True)],
    )


class EmergencyReferralForm(ReferralForm):
    reason = TextAreaField(
        _l("Why consent cannot be sought, and what is at risk"),
        description=_l("At least 20 characters. Recorded, audited and shown to your organisation."),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=2000), NoControlCharacters(multiline=True)],
    )
    expires_on = DateField(
        _l("Override ends on"), description=_l("At most 7 days from today."), validators=[InputRequired()]
    )
    confirm = BooleanField(_l("The person cannot be asked now and their life or safety is at risk"))


class VersionedForm(FlaskForm):
    version_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class RespondForm(VersionedForm):
    decision = RadioField(
        _l("Your answer"), choices=[("accept", _l("Accept")), ("decline", _l("Decline"))], validators=[InputRequired()]
    )
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Required when you decline."),
        filters=[strip_filter],
        validators=[Optional(), Length(max=2000), NoControlCharacters(multiline=True)],
    )


class CompleteForm(VersionedForm):
    pass


class RevokeForm(VersionedForm):
    reason = TextAreaField(
        _l("Reason for revoking"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=2000), NoControlCharacters(multiline=True)],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note for the referring organisation"),
        description=_l("The referring organisation will read it."),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=4000), NoControlCharacters(multiline=True)],
    )


class SummaryForm(FlaskForm):
    """A GET form: the recipient is a code and the referral an id, never victim data."""

    class Meta:
        csrf = False

    recipient = SelectField(_l("Who is it for"), choices=[], validators=[DataRequired()])
    referral_id = SelectField(
        _l("Referral"),
        description=_l("For a partner: the referral the summary goes with."),
        choices=[],
        validators=[Optional()],
    )


REFERENCE_SEARCH_MAX = 40


class PortalFilterForm(FlaskForm):
    """Filters and paging of the partner portal (a GET form: codes, dates and references only)."""

    class Meta:
        csrf = False

    status = OptionalSelectField(_l("Status"), choices=code_choices(vocab.REFERRAL_STATUSES, _l("Any status")))
    sent_from = a_date(_l("Sent from"))
    sent_to = a_date(_l("Sent until"))
    q = StringField(
        _l("Reference"),
        description=_l("A referral's reference (REF-…), or the reference of a case you can open."),
        filters=[strip_filter],
        validators=[Optional(), Length(max=REFERENCE_SEARCH_MAX), NoControlCharacters()],
    )
    page = IntegerFieldWithMessage(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=MAX_PAGE, message=_l("Enter a page number from 1."))],
    )

    def validate_sent_to(self, field: DateField) -> None:
        if field.data and self.sent_from.data and field.data < self.sent_from.data:
            raise ValidationError(_l("This is before the start of the range."))


class ServicesPageForm(FlaskForm):
    """Paging of a partner's own services."""

    class Meta:
        csrf = False

    page = IntegerFieldWithMessage(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=MAX_PAGE, message=_l("Enter a page number from 1."))],
    )
