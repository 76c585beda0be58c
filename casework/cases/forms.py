"""Case forms: registration, identity and coded profile, notes, case actions and search.

Forms parse and bound what people type (types, lengths, listed codes, control characters);
the business rules (dates in order, age against date of birth, ...) live in the services.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget, Select, html_params

from casework import vocab
from casework.cases.validation import NoControlCharacters, clean_line, clean_multiline

NAME_MAX = 200
ALIASES_MAX = 500
ADDRESS_MAX = 1000
NOTE_MAX = 10_000
DATE_MESSAGE = _l("Enter a date as year-month-day, e.g. 2024-03-31.")
NUMBER_MESSAGE = _l("Enter a whole number.")


def code_choices(code_list: vocab.CodeList, blank: Any = None) -> list[tuple[str, Any]]:
    """WTForms choices for a code list, with a first blank choice meaning 'not recorded'."""
    return [("", blank if blank is not None else _l("Not recorded"))] + code_list.choices()


def country_choices(blank: Any = None) -> list[tuple[str, Any]]:
    return code_choices(vocab.COUNTRIES, blank)


class CountrySelect(Select):
    """A country list rendered from a per-language cache of its ~250 options: forms with several
    country lists (the trafficking profile has ten) would otherwise spend most of their time
    rendering the same options again and again."""

    _cache: dict[tuple[str, str], list[tuple[str, str, str]]] = {}

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("data-typeahead", True)  # casework.js adds a type-ahead box
        options = self._options(field)
        selected = field.data if isinstance(field.data, str) else ""
        parts = [f"<select {html_params(name=field.name, **kwargs)}>"]
        parts.extend(chosen if value == selected else plain for value, plain, chosen in options)
        parts.append("</select>")
        return Markup("".join(parts))  # noqa: S704 - labels and values escaped when cached

    @classmethod
    def _options(cls, field: Any) -> list[tuple[str, str, str]]:
        """The blank choice, then every country by name in the reader's language."""
        choices = list(field.choices)
        locale = str(get_locale() or "en")
        key = (locale, str(choices[0][1]) if choices else "")
        cached = cls._cache.get(key)
        if cached is None:
            blank = [(value, label) for value, label in choices if value == ""]
            allowed = {value for value, _label in choices}
            countries = [(value, name) for value, name in vocab.countries_by_name(locale) if value in allowed]
            cached = cls._cache[key] = [
                (
                    value,
                    f'<option value="{escape(value)}">{escape(str(label))}</option>',
                    f'<option selected value="{escape(value)}">{escape(str(label))}</option>',
                )
                for value, label in [*blank, *countries]
            ]
        return cached


def country_select(label: Any, blank: Any = None, **kwargs: Any) -> OptionalSelectField:
    return OptionalSelectField(label, choices=country_choices(blank), widget=CountrySelect(), **kwargs)


def text_field(label: Any, max_length: int, required: bool = False, **kwargs: Any) -> StringField:
    presence = DataRequired() if required else Optional()
    return StringField(
        label,
        validators=[presence, Length(max=max_length), NoControlCharacters()],
        filters=[clean_line],
        **kwargs,
    )


class OptionalSelectField(SelectField):
    """A select whose first choice is blank ("not recorded"): a missing value is blank too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)


class _StopAfterParseError:
    """A field that could not parse its input says so once: the range and presence checks that
    follow would only add a second message about the same typo ("Enter a whole number. Enter an
    age from 0 to 120.")."""

    process_errors: list[Any]
    raw_data: list[Any] | None

    def pre_validate(self, form: Any) -> None:
        # Blank input goes on to Optional(), which clears the parse error of an empty field.
        if self.process_errors and self.raw_data and str(self.raw_data[0]).strip():
            raise StopValidation()


class DateFieldWithMessage(_StopAfterParseError, DateField):
    """A date field whose parse error is a translatable, explicit message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(DATE_MESSAGE)) from None


class IntegerFieldWithMessage(_StopAfterParseError, IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(NUMBER_MESSAGE)) from None


def a_date(label: Any, required: bool = False, **kwargs: Any) -> DateFieldWithMessage:
    presence = InputRequired(message=_l("Enter a date.")) if required else Optional()
    return DateFieldWithMessage(label, validators=[presence], format="%Y-%m-%d", **kwargs)


def an_age(label: Any, **kwargs: Any) -> IntegerFieldWithMessage:
    return IntegerFieldWithMessage(
        label,
        validators=[Optional(), NumberRange(min=0, max=120, message=_l("Enter an age from 0 to 120."))],
        **kwargs,
    )


class CaseDetailsForm(FlaskForm):
    """Identity (encrypted) and coded profile (plain) of a case: registration and edit."""

    # -- identity ----------------------------------------------------------------------------
    given_name = text_field(_l("Given name(s)"), NAME_MAX, render_kw={"autocomplete": "off"})
    family_name = text_field(_l("Family name(s)"), NAME_MAX, render_kw={"autocomplete": "off"})
    aliases = text_field(
        _l("Other names or aliases"),
        ALIASES_MAX,
        description=_l("Nicknames, earlier names, other spellings; separate them with commas."),
        render_kw={"autocomplete": "off"},
    )
    date_of_birth = a_date(_l("Date of birth"), description=_l("Year-month-day. Leave empty if not known."))
    place_of_birth = text_field(_l("Place of birth"), NAME_MAX)
    phone = StringField(
        _l("Phone number"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^[0-9+()./\s-]+$", message=_l("Use digits, spaces and + ( ) - . / only.")),
        ],
        filters=[clean_line],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    email = EmailField(
        _l("Email address"),
        validators=[
            Optional(),
            Length(max=254),
            NoControlCharacters(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address like name@example.org.")),
        ],
        filters=[clean_line],
        render_kw={"autocomplete": "off"},
    )
    address = TextAreaField(
        _l("Current address"),
        validators=[Optional(), Length(max=ADDRESS_MAX), NoControlCharacters(multiline=True)],
        filters=[clean_multiline],
        render_kw={"rows": 3},
    )
    languages = text_field(
        _l("Languages spoken"), NAME_MAX, description=_l("For example: Tigrinya, Arabic (some English).")
    )
    document_type = OptionalSelectField(_l("Identity document type"), choices=code_choices(vocab.DOCUMENT_TYPES))
    document_number = text_field(_l("Identity document number"), 60, render_kw={"autocomplete": "off"})
    document_country = country_select(_l("Country that issued the document"))

    # -- coded profile -----------------------------------------------------------------------
    gender = OptionalSelectField(_l("Gender"), choices=code_choices(vocab.GENDERS))
    age_at_registration = an_age(
        _l("Age at registration"),
        description=_l("In years. Worked out from the date of birth when that is known."),
    )
    citizenship = country_select(_l("Citizenship"))
    country_of_exploitation = country_select(_l("Country of exploitation"))
    identification_route = OptionalSelectField(
        _l("How the person was identified"), choices=code_choices(vocab.IDENTIFICATION_ROUTES)
    )
    data_source = SelectField(
        _l("Data source"),
        choices=vocab.DATA_SOURCES.choices(),
        default="case_management",
        validators=[DataRequired()],
    )
    opened_on = a_date(_l("Case opened on"), required=True, default=date.today)


class RegistrationForm(CaseDetailsForm):
    """Registration adds the assignment and the duplicate-check step."""

    assigned_to = SelectField(_l("Assigned caseworker"), choices=[], validate_choice=True)
    # Step two of the duplicate check: "new", or the id of the case to link to.
    duplicate_decision = HiddenField()
    # Ids of the possible duplicates already shown, so new ones found later are shown too.
    duplicates_seen = HiddenField()


class CaseEditForm(CaseDetailsForm):
    version_id = HiddenField(validators=[DataRequired()])


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(message=_l("Write the note.")),
            Length(min=1, max=NOTE_MAX),
            NoControlCharacters(multiline=True),
        ],
        filters=[clean_multiline],
        render_kw={"rows": 5},
    )
    shareable = BooleanField(
        _l("Share with partner organisations"),
        description=_l("Visible to partners whose referral includes notes marked for sharing."),
    )


class AssignForm(FlaskForm):
    assigned_to = SelectField(_l("Assign to"), choices=[], validate_choice=True)
    version_id = HiddenField(validators=[DataRequired()])


class CloseForm(FlaskForm):
    closed_on = a_date(_l("Closed on"), required=True, default=date.today)
    version_id = HiddenField(validators=[DataRequired()])


class ReopenForm(FlaskForm):
    version_id = HiddenField(validators=[DataRequired()])


class SearchForm(FlaskForm):
    """Exact search through the blind indexes (posted, never in a URL)."""

    full_name = text_field(
        _l("Full name"),
        NAME_MAX * 2,
        description=_l("Given and family names, in any order; accents and capitals do not matter."),
        render_kw={"autocomplete": "off"},
    )
    date_of_birth = a_date(_l("Date of birth"), description=_l("Optional: narrows a name search."))
    document_number = text_field(_l("Identity document number"), 60, render_kw={"autocomplete": "off"})


SORT_CHOICES = [
    ("opened", _l("Date opened")),
    ("reference", _l("Reference")),
    ("status", _l("Status")),
    ("updated", _l("Last updated")),
]
PAGE_SIZES = (10, 25, 50, 100)
MAX_PAGE = 100_000


class CaseListForm(FlaskForm):
    """Filters, sorting and paging of a case list (a GET form: codes only, never names)."""

    class Meta:
        csrf = False

    view = SelectField(
        _l("Show"),
        choices=[("mine", _l("Cases assigned to me")), ("org", _l("All cases of my organisation"))],
        default="mine",
    )
    status = OptionalSelectField(
        _l("Status"),
        choices=[*code_choices(vocab.CASE_STATUSES, _l("Any status")), ("active", _l("Open or in assistance"))],
    )
    kind = OptionalSelectField(_l("Assistance"), choices=code_choices(vocab.SERVICE_KINDS, _l("Any assistance")))
    pending = BooleanField(_l("Only assistance not yet provided"))
    no_plan = BooleanField(_l("Only cases without a plan"))
    country = country_select(
        _l("Country"), _l("Any country"), description=_l("Citizenship or country of exploitation.")
    )
    assigned = OptionalSelectField(_l("Assigned caseworker"), choices=[("", _l("Anyone"))])
    opened_from = a_date(_l("Opened from"))
    opened_to = a_date(_l("Opened until"))
    sort = SelectField(_l("Sort by"), choices=SORT_CHOICES, default="opened")
    direction = SelectField(_l("Order"), choices=[("desc", _l("Descending")), ("asc", _l("Ascending"))], default="desc")
    per_page = SelectField(_l("Cases per page"), choices=[(str(n), str(n)) for n in PAGE_SIZES], default="25")
    page = IntegerFieldWithMessage(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=MAX_PAGE, message=_l("Enter a page number from 1."))],
    )


class CheckboxListField(SelectMultipleField):
    """Several codes of a list, rendered as a list of checkboxes (see _forms.html)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def codes_field(label: Any, code_list: vocab.CodeList, **kwargs: Any) -> CheckboxListField:
    return CheckboxListField(label, choices=code_list.choices(), validators=[Optional()], **kwargs)


def not_asked_field() -> BooleanField:
    return BooleanField(_l("Not asked or not known"))


NOT_BOTH_MESSAGE = _l("Tick the answers or “Not asked or not known”, not both.")
# Answers with a "not asked or not known" box beside them (``<name>_not_asked``).
NOT_ASKED_ANSWERS = (
    "exploitation_types",
    "labour_sectors",
    "sexual_exploitation_types",
    "means_of_control",
    "recruiter_relationships",
    "transit_countries",
    "exploitation_countries",
)
COUNTRY_SLOTS = 4
MAX_COUNTRY_SLOTS = 20
NARRATIVE_MAX = 20_000
ABDUCTION_CHOICES = [("unknown", _l("Not asked or not known")), ("yes", _l("Yes")), ("no", _l("No"))]


class ProfileForm(FlaskForm):
    """The trafficking profile. For each multi-valued answer, "not asked or not known" keeps
    it empty (NULL); with nothing ticked and that box clear the answer is "none"."""

    exploitation_types = codes_field(_l("Types of exploitation"), vocab.EXPLOITATION_TYPES)
    exploitation_types_not_asked = not_asked_field()
    labour_sectors = codes_field(_l("Sectors of forced labour"), vocab.LABOUR_SECTORS)
    labour_sectors_not_asked = not_asked_field()
    sexual_exploitation_types = codes_field(_l("Types of sexual exploitation"), vocab.SEXUAL_EXPLOITATION_TYPES)
    sexual_exploitation_types_not_asked = not_asked_field()
    means_of_control = codes_field(_l("Means of control"), vocab.MEANS_OF_CONTROL)
    means_of_control_not_asked = not_asked_field()
    recruitment_type = OptionalSelectField(
        _l("How the person was recruited"),
        choices=code_choices(vocab.RECRUITMENT_TYPES, _l("Not asked or not known")),
    )
    recruiter_relationships = codes_field(_l("Relationship to the recruiter"), vocab.RECRUITER_RELATIONSHIPS)
    recruiter_relationships_not_asked = not_asked_field()
    abducted = RadioField(_l("Was the person abducted?"), choices=ABDUCTION_CHOICES, default="unknown")
    age_at_recruitment = an_age(_l("Age when recruited"))
    age_at_exploitation_start = an_age(_l("Age when the exploitation began"))
    exploitation_began_on = a_date(_l("Exploitation began on"))
    exploitation_ended_on = a_date(_l("Exploitation ended on"), description=_l("Leave empty if it has not ended."))
    origin_country = country_select(_l("Country of origin"), _l("Not asked or not known"))
    transit_countries = FieldList(
        country_select(_l("Transit country"), _l("None")),
        _l("Transit countries"),
        min_entries=COUNTRY_SLOTS,
        max_entries=MAX_COUNTRY_SLOTS,
    )
    transit_countries_not_asked = not_asked_field()
    exploitation_countries = FieldList(
        country_select(_l("Country of exploitation"), _l("None")),
        _l("Countries of exploitation"),
        min_entries=COUNTRY_SLOTS,
        max_entries=MAX_COUNTRY_SLOTS,
    )
    exploitation_countries_not_asked = not_asked_field()
    narrative = TextAreaField(
        _l("What happened, in the person's words"),
        validators=[Optional(), Length(max=NARRATIVE_MAX), NoControlCharacters(multiline=True)],
        filters=[clean_multiline],
        render_kw={"rows": 8},
    )
    version_id = HiddenField(validators=[DataRequired()])

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, and "not asked or not known" never beside a given answer
        (casework.js unticks the other side as people tick; this holds without JavaScript)."""
        valid = super().validate(extra_validators)
        for name in NOT_ASKED_ANSWERS:
            answers = self[name]
            given = any(entry.data for entry in answers) if isinstance(answers, FieldList) else bool(answers.data)
            if self[f"{name}_not_asked"].data and given:
                answers.errors.append(str(NOT_BOTH_MESSAGE))
                valid = False
        return valid

    def ensure_free_country_slot(self) -> None:
        """Keep one empty country choice after the filled ones, so a route can grow without JS."""
        for name in ("transit_countries", "exploitation_countries"):
            entries = self[name]
            if all(entry.data for entry in entries) and len(entries) < MAX_COUNTRY_SLOTS:
                entries.append_entry()


def parse_version(raw: Any) -> int | None:
    """The version a form was built from, or None when the hidden field is missing or was
    tampered with. ASCII digits only: int() also takes " 1", "1_0" and "١", and str.isdigit()
    takes "²", which int() refuses."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if value > 0 else None
