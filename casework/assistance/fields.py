"""Form fields and validators shared by the assistance forms.

Every refusal carries a message written for the person filling the form, shown next to the
field; no message repeats what the user typed (it may be victim data).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import list_currencies
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, Field, IntegerField, SelectField, SelectMultipleField
from wtforms.fields import SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from casework.vocab import CodeList

# Control characters (C0, DEL, C1). Multi-line text keeps tab, line feed and carriage return.
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
CHOOSE_FROM_LIST = _l("Choose one of the options listed.")
CURRENCIES = frozenset(list_currencies())


# -- filters ------------------------------------------------------------------------------------
def strip_line(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def strip_text(value: Any) -> Any:
    """Multi-line text: one newline convention, no surrounding blank space."""
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def upper_line(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


# -- coercion -----------------------------------------------------------------------------------
def optional_code(value: Any) -> str | None:
    """A select's value: the empty option means "not recorded"."""
    if value is None or value == "":
        return None
    return str(value)


def optional_uuid(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))  # ValueError on anything else: the field reports it


def yes_no(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    mapping = {"": None, "yes": True, "no": False}
    if value not in mapping:
        raise ValueError("not yes/no")
    return mapping[value]


def code_choices(code_list: CodeList, blank: str | None = "", sort: bool = False) -> list[SelectChoice]:
    """Choices from a vocab list, with an empty "not recorded" option unless ``blank`` is None."""
    choices = [SelectChoice(value=c.code, label=c.label) for c in code_list]
    if sort:
        choices.sort(key=lambda c: str(c.label).casefold())
    if blank is not None:
        choices.insert(0, SelectChoice(value="", label=blank or _l("— not recorded —")))
    return choices


# -- fields -------------------------------------------------------------------------------------
class DateInputField(DateField):
    """An ISO date (``<input type=date>``) with a message people understand."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter a real date as year-month-day, for example 2025-03-14.")) from None


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter a whole number, for example 12.")) from None


class AmountField(DecimalField):
    """A money amount: finite, never in scientific notation surprises (NaN, Infinity)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter an amount in figures, for example 1250.50.")) from None
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(_("Enter an amount in figures, for example 1250.50."))


class CodeSelectField(SelectField):
    """A single choice from a code list; the empty option stores None."""

    def __init__(self, label: Any, code_list: CodeList | None = None, blank: str | None = "", **kwargs: Any) -> None:
        sort = kwargs.pop("sort", False)
        kwargs.setdefault("coerce", optional_code)
        kwargs.setdefault("invalid_choice_message", CHOOSE_FROM_LIST)
        kwargs.setdefault("invalid_value_message", CHOOSE_FROM_LIST)
        if code_list is not None:
            kwargs.setdefault("choices", code_choices(code_list, blank, sort=sort))
        super().__init__(label, **kwargs)


class YesNoField(SelectField):
    """Yes / no / not known, stored as True / False / None."""

    def __init__(self, label: Any, **kwargs: Any) -> None:
        choices = [
            SelectChoice(value="", label=_l("Not known")),
            SelectChoice(value="yes", label=_l("Yes")),
            SelectChoice(value="no", label=_l("No")),
        ]
        super().__init__(
            label,
            coerce=yes_no,
            choices=choices,
            invalid_choice_message=CHOOSE_FROM_LIST,
            invalid_value_message=CHOOSE_FROM_LIST,
            **kwargs,
        )

    def process_data(self, value: Any) -> None:
        self.data = value if value is None or isinstance(value, bool) else None


class MultiCheckboxField(SelectMultipleField):
    """Several codes from a list, as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: Any, code_list: CodeList, choice_required: bool = False, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validators", None) or [])
        if choice_required:
            # Not InputRequired: its "required" flag would be copied onto every checkbox.
            validators.insert(0, _at_least_one)
        super().__init__(
            label,
            validators=validators,
            choices=code_choices(code_list, blank=None),
            invalid_choice_message=_l("Choose only from the options listed."),
            invalid_value_message=_l("Choose only from the options listed."),
            **kwargs,
        )
        self.choice_required = choice_required

    def process_data(self, value: Any) -> None:
        self.data = sorted(value) if value else []


# -- validators ---------------------------------------------------------------------------------
def _at_least_one(form: Any, field: Field) -> None:
    if not field.data:
        field.errors[:] = []
        raise StopValidation(_("Choose at least one."))


class NoControlCharacters:
    """Refuse invisible control characters (pasted from other programs, or an attack)."""

    def __init__(self, multiline: bool = False) -> None:
        self.pattern = _CONTROL_MULTI_LINE if multiline else _CONTROL_SINGLE_LINE

    def __call__(self, form: Any, field: Field) -> None:
        if isinstance(field.data, str) and self.pattern.search(field.data):
            raise ValidationError(_("Remove the invisible control characters from this text."))


def plausible_date(form: Any, field: Field) -> None:
    if isinstance(field.data, date) and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_("Enter a date between 1900 and 2100."))


def not_in_future(form: Any, field: Field) -> None:
    if isinstance(field.data, date) and field.data > date.today():
        raise ValidationError(_("This date cannot be in the future."))


def not_before(other_name: str, message: Any) -> Callable[[Any, Field], None]:
    """The field's date is on or after the date of field ``other_name`` (when both are given)."""

    def check(form: Any, field: Field) -> None:
        other = form[other_name].data
        if isinstance(field.data, date) and isinstance(other, date) and field.data < other:
            raise ValidationError(str(message))

    return check


def amount_in_range(form: Any, field: Field) -> None:
    value = field.data
    if not isinstance(value, Decimal):
        return
    if value < 0 or value > Decimal("1000000000"):
        raise ValidationError(_("Enter an amount between 0 and 1,000,000,000."))
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValidationError(_("Use at most two decimal places."))


def iso_currency(form: Any, field: Field) -> None:
    value = field.data
    if not value:
        return
    if not re.fullmatch(r"[A-Z]{3}", value) or value not in CURRENCIES:
        raise ValidationError(_("Enter a currency code of three letters, for example EUR or USD."))


def labels_of(field: SelectField) -> Iterable[str]:
    """The labels of the chosen options of a select or checkbox field, in list order."""
    for choice in field._iter_choices_normalized():
        if choice.selected and choice.value != "":
            yield str(choice.label)
