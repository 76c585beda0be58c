"""Assistance forms: the common service fields, then one form per kind with its own fields.

Data checks live here (types, ranges, codes, date order) so that each refusal sits next to its
field; business rules (status transitions, who may be the provider) live in services.py.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from casework import vocab
from casework.assistance.fields import (
    AmountField,
    CodeSelectField,
    DateInputField,
    MultiCheckboxField,
    NoControlCharacters,
    WholeNumberField,
    YesNoField,
    amount_in_range,
    code_choices,
    iso_currency,
    labels_of,
    not_before,
    not_in_future,
    optional_uuid,
    plausible_date,
    strip_line,
    strip_text,
    upper_line,
)
from casework.cases.forms import parse_version

NOTES_MAX = 10_000
LINE_MAX = 200
PERMIT_GRANTED = frozenset({"temporary_permit_granted", "permanent_permit_granted"})
REQUIRED = _l("This field is required.")


def _line(label: Any, description: Any = None, max_length: int = LINE_MAX) -> StringField:
    return StringField(
        label,
        description=description,
        filters=[strip_line],
        validators=[
            Length(max=max_length, message=_l("At most %(max)d characters.")),
            NoControlCharacters(),
        ],
    )


def _text(label: Any, description: Any = None) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        filters=[strip_text],
        validators=[
            Length(max=NOTES_MAX, message=_l("At most %(max)d characters.")),
            NoControlCharacters(multiline=True),
        ],
    )


def _past_date(label: Any, *extra: Any, description: Any = None) -> DateInputField:
    return DateInputField(
        label, description=description, validators=[Optional(), plausible_date, not_in_future, *extra]
    )


def _plan_date(label: Any, *extra: Any, description: Any = None) -> DateInputField:
    """A date that may lie in the future (a plan, an appointment, an expiry)."""
    return DateInputField(label, description=description, validators=[Optional(), plausible_date, *extra])


def _count(label: Any, low: int, high: int) -> WholeNumberField:
    return WholeNumberField(
        label,
        validators=[
            Optional(),
            NumberRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s.")),
        ],
    )


def _required_codes(label: Any, code_list: vocab.CodeList) -> MultiCheckboxField:
    return MultiCheckboxField(label, code_list, choice_required=True)


class AssistanceForm(FlaskForm):
    """Base of the assistance forms: error messages end up as plain text in the user's language
    (validators may hold lazy strings, which templates would not treat as text)."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            field.errors = [str(error) for error in field.errors]
        self.form_errors = [str(error) for error in self.form_errors]
        return valid


class ServiceForm(AssistanceForm):
    """The fields every kind of assistance has. Subclasses list theirs in KIND_FIELDS."""

    KIND: str = ""
    COMMON_FIELDS: tuple[str, ...] = ("status", "provider_org_id", "started_on", "ended_on")
    KIND_FIELDS: tuple[str, ...] = ()

    version_id = HiddenField(
        _l("Form version"), validators=[InputRequired(message=_l("The form is incomplete: reload the page."))]
    )
    status = CodeSelectField(
        _l("Status"),
        vocab.SERVICE_STATUSES,
        blank=None,
        default="needed",
        validators=[InputRequired(message=REQUIRED)],
    )
    provider_org_id = SelectField(
        _l("Provided by"),
        coerce=optional_uuid,
        choices=[],
        description=_l("Your organisation or a partner organisation."),
        invalid_choice_message=_l("Choose one of the organisations listed."),
        invalid_value_message=_l("Choose one of the organisations listed."),
    )
    started_on = _past_date(_l("Started on"))
    ended_on = _past_date(_l("Ended on"), not_before("started_on", _l("The end cannot be before the start.")))
    notes = _text(_l("Notes"), _l("Confidential (stored encrypted). At most 10,000 characters."))

    def __init__(
        self,
        *args: Any,
        provider_choices: list[tuple[uuid.UUID, str]] | None = None,
        allow_blank_provider: bool = True,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [SelectChoice(value=str(org_id), label=name) for org_id, name in provider_choices or []]
        if allow_blank_provider:
            choices.insert(0, SelectChoice(value="", label=_l("— not recorded —")))
        self.provider_org_id.choices = choices
        if not editing:
            del self.version_id  # a new record has no version to protect

    @property
    def kind_label(self) -> str:
        return vocab.SERVICE_KINDS.label(self.KIND)

    def model_field_names(self) -> tuple[str, ...]:
        return (*self.COMMON_FIELDS, *self.KIND_FIELDS, "notes")

    def model_values(self) -> dict[str, Any]:
        """Cleaned values by model attribute: empty text and empty selections become None."""
        values: dict[str, Any] = {}
        for name in self.model_field_names():
            field = self[name]
            value = field.data
            if isinstance(field, SelectMultipleField):
                value = frozenset(value) if value else None
            elif isinstance(value, str) and value == "":
                value = None
            values[name] = value
        return values

    def expected_version(self) -> int | None:
        """The version the user's page was built from (None if missing or garbled)."""
        return parse_version(self.version_id.data if "version_id" in self else None)

    def validate_version_id(self, field: Field) -> None:
        if self.expected_version() is None:
            raise ValidationError(_("The form is incomplete: reload the page."))

    def display_rows(self) -> list[tuple[str, str, str]]:
        """(field name, label, value as text) for read-only pages."""
        return [(name, str(self[name].label.text), display_text(self[name])) for name in self.model_field_names()]


def display_text(field: Field) -> str:
    """A field's value as a person reads it: labels, not codes."""
    if isinstance(field, SelectField):  # includes multi-selects and yes/no
        return ", ".join(labels_of(field))
    data = field.data
    if data is None:
        return ""
    if isinstance(data, date):
        return data.isoformat()
    if isinstance(data, Decimal):
        return f"{data:,.2f}"
    return str(data)


class ShelterForm(ServiceForm):
    KIND = "shelter"
    KIND_FIELDS = ("shelter_type", "facility", "admitted_on", "discharged_on")

    shelter_type = CodeSelectField(
        _l("Type of shelter"), vocab.SHELTER_TYPES, validators=[InputRequired(message=REQUIRED)]
    )
    facility = _line(_l("Shelter or facility"), _l("Stored encrypted: where a person stays can put them in danger."))
    admitted_on = _past_date(_l("Admitted on"))
    discharged_on = _past_date(
        _l("Discharged on"), not_before("admitted_on", _l("Discharge cannot be before admission."))
    )


class LegalForm(ServiceForm):
    KIND = "legal"
    KIND_FIELDS = (
        "legal_services",
        "permit_status",
        "permit_expires_on",
        "proceeding_type",
        "proceeding_outcome",
        "next_hearing_on",
        "representative",
    )

    legal_services = _required_codes(_l("Legal services"), vocab.LEGAL_SERVICE_TYPES)
    permit_status = CodeSelectField(_l("Residence permit or reflection period"), vocab.PERMIT_STATUSES)
    permit_expires_on = _plan_date(_l("Permit expires on"), description=_l("Only for a granted permit."))
    proceeding_type = CodeSelectField(_l("Legal proceedings"), vocab.LEGAL_PROCEEDING_TYPES)
    proceeding_outcome = CodeSelectField(_l("Outcome of the proceedings"), vocab.LEGAL_OUTCOMES)
    next_hearing_on = _plan_date(_l("Next hearing or court date"), description=_l("May be a planned date."))
    representative = _line(_l("Lawyer or legal representative"))

    def validate_permit_expires_on(self, field: Field) -> None:
        if field.data is not None and self.permit_status.data not in PERMIT_GRANTED:
            raise ValidationError(_("An expiry date only applies to a granted permit."))

    def validate_proceeding_outcome(self, field: Field) -> None:
        if field.data is not None and self.proceeding_type.data in (None, "none"):
            raise ValidationError(_("Choose the type of proceedings first."))


class MedicalForm(ServiceForm):
    KIND = "medical"
    KIND_FIELDS = ("care_types", "referred_to", "follow_up_on", "details")

    care_types = _required_codes(_l("Care"), vocab.MEDICAL_CARE_TYPES)
    referred_to = _line(_l("Referred to"), _l("A clinic, hospital or practitioner."))
    follow_up_on = _plan_date(
        _l("Follow-up on"),
        not_before("started_on", _l("The follow-up cannot be before the care started.")),
        description=_l("May be a planned date."),
    )
    details = _text(_l("Medical details"), _l("Health data: stored encrypted. At most 10,000 characters."))


class PsychosocialForm(ServiceForm):
    KIND = "psychosocial"
    KIND_FIELDS = ("support_types", "sessions_planned", "sessions_attended")

    support_types = _required_codes(_l("Support"), vocab.PSYCHOSOCIAL_SUPPORT_TYPES)
    sessions_planned = _count(_l("Sessions planned"), 0, 1000)
    sessions_attended = _count(_l("Sessions attended"), 0, 1000)

    def validate_sessions_attended(self, field: Field) -> None:
        planned = self.sessions_planned.data
        if field.data is not None and planned is not None and field.data > planned:
            raise ValidationError(_("More sessions attended than planned: correct one of the two."))


class ReturnForm(ServiceForm):
    KIND = "return"
    KIND_FIELDS = (
        "destination_country",
        "destination_locality",
        "travel_date",
        "documents_status",
        "escorted",
        "risk_level",
        "risk_assessed_on",
        "reception_arranged",
        "reception_organisation",
    )

    destination_country = CodeSelectField(
        _l("Destination country"), choices=[], validators=[InputRequired(message=REQUIRED)]
    )
    destination_locality = _line(_l("Destination town or village"), _l("Stored encrypted."))
    travel_date = _plan_date(_l("Travel date"), description=_l("May be a planned date."))
    documents_status = CodeSelectField(_l("Travel documents"), vocab.RETURN_DOCUMENTS_STATUSES)
    escorted = YesNoField(_l("Escorted"))
    risk_level = CodeSelectField(_l("Risk level"), vocab.RISK_LEVELS)
    risk_assessed_on = _past_date(_l("Risk assessed on"))
    reception_arranged = YesNoField(_l("Reception arranged"))
    reception_organisation = _line(_l("Receiving organisation"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Sorted by name in the reader's language, so built per request.
        self.destination_country.choices = code_choices(vocab.COUNTRIES, sort=True)

    def validate_risk_assessed_on(self, field: Field) -> None:
        if field.data is not None and self.risk_level.data is None:
            raise ValidationError(_("Choose the risk level assessed on this date."))

    def validate_reception_organisation(self, field: Field) -> None:
        if field.data and self.reception_arranged.data is not True:
            raise ValidationError(_("Only when reception is arranged: choose Yes above, or leave this empty."))


class ReintegrationForm(ServiceForm):
    KIND = "reintegration"
    KIND_FIELDS = ("components", "plan_agreed_on", "grant_amount", "grant_currency")

    components = _required_codes(_l("Plan components"), vocab.REINTEGRATION_COMPONENTS)
    plan_agreed_on = _past_date(_l("Plan agreed on"))
    grant_amount = AmountField(_l("Grant amount"), places=2, rounding=None, validators=[Optional(), amount_in_range])
    grant_currency = StringField(
        _l("Currency"),
        description=_l("Three-letter ISO code, for example EUR."),
        filters=[upper_line],
        validators=[Length(max=3, message=_l("Three letters, for example EUR.")), iso_currency],
    )

    def validate_grant_currency(self, field: Field) -> None:
        if not field.data and self.grant_amount.data is not None:
            raise ValidationError(_("Give the currency of the grant."))


FORMS: dict[str, type[ServiceForm]] = {
    form.KIND: form for form in (ShelterForm, LegalForm, MedicalForm, PsychosocialForm, ReturnForm, ReintegrationForm)
}


class StatusForm(AssistanceForm):
    """Change only the status of a service (from its page)."""

    version_id = HiddenField(
        _l("Form version"), validators=[InputRequired(message=_l("The form is incomplete: reload the page."))]
    )
    status = CodeSelectField(
        _l("New status"), vocab.SERVICE_STATUSES, blank=None, validators=[InputRequired(message=REQUIRED)]
    )

    def expected_version(self) -> int | None:
        return parse_version(self.version_id.data)

    def validate_version_id(self, field: Field) -> None:
        if self.expected_version() is None:
            raise ValidationError(_("The form is incomplete: reload the page."))

    def model_field_names(self) -> tuple[str, ...]:
        return ("status",)

    def display_rows(self) -> list[tuple[str, str, str]]:
        return [("status", str(self.status.label.text), display_text(self.status))]


class FollowUpForm(AssistanceForm):
    """A reintegration follow-up visit."""

    visited_on = DateInputField(
        _l("Visited on"), validators=[InputRequired(message=REQUIRED), plausible_date, not_in_future]
    )
    sustainability_score = WholeNumberField(
        _l("Sustainability score"),
        description=_l("From 0 to 100."),
        validators=[Optional(), NumberRange(min=0, max=100, message=_l("Enter a number from %(min)s to %(max)s."))],
    )
    notes = _text(_l("Notes on the visit"), _l("Confidential (stored encrypted). At most 10,000 characters."))

    def model_values(self) -> dict[str, Any]:
        return {
            "visited_on": self.visited_on.data,
            "sustainability_score": self.sustainability_score.data,
            "notes": self.notes.data or None,
        }
