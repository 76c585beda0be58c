"""Forms: the researcher's export requests and the supervisor's export limits."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectMultipleField, ValidationError
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from casework.exports import aggregates, anonymise, services, tables

NOT_A_NUMBER = _l("Enter a whole number.")
CHOOSE_FROM_LIST = _l("Choose only from the options listed.")

# Columns a researcher may ask to keep as complete as possible (kept first, in this order).
PRIORITY_COLUMNS = (
    ("yearOfRegistration", _l("Year of registration")),
    ("gender", _l("Gender")),
    ("ageBroad", _l("Age band")),
    ("citizenship", _l("Citizenship")),
    ("CountryOfExploitation", _l("Country of exploitation")),
    ("isForcedLabour", _l("Forced labour")),
    ("isSexualExploit", _l("Sexual exploitation")),
)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _checkboxes(label: Any, choices: Any, **kwargs: Any) -> MultiCheckboxField:
    return MultiCheckboxField(
        label,
        choices=choices,
        invalid_choice_message=CHOOSE_FROM_LIST,
        invalid_value_message=CHOOSE_FROM_LIST,
        **kwargs,
    )


class WholeNumberField(IntegerField):
    """An integer field that says what it wants: ASCII digits, nothing else."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        if not re.fullmatch(r"[0-9]{1,30}", text):
            self.data = None
            if text:
                raise ValueError(str(NOT_A_NUMBER))
            return
        self.data = int(text)


def _range(low: int, high: int) -> NumberRange:
    return NumberRange(low, high, message=_l("Enter a number from %(min)s to %(max)s."))


def _whole_number(label: Any, low: int, high: int, description: Any = None) -> WholeNumberField:
    return WholeNumberField(
        label,
        description=description,
        validators=[
            InputRequired(message=NOT_A_NUMBER),
            _range(low, high),
        ],
    )


class MicrodataForm(FlaskForm):
    k = _whole_number(
        _l("k: the fewest people who must share every released combination"),
        anonymise.MIN_K,
        services.MAX_K,
        _l("CTDC uses 11. A higher k hides more."),
    )
    priority = _checkboxes(
        _l("Keep these columns as complete as possible"),
        PRIORITY_COLUMNS,
        description=_l("Optional. Other columns then lose more; the report shows how much."),
    )

    def set_minimum(self, minimum: int) -> None:
        """The supervisor's minimum (validators are shared by every form: replace, never mutate)."""
        self.k.validators = [self.k.validators[0], _range(minimum, services.MAX_K)]


def _distinct(form: FlaskForm, field: Any) -> None:
    if field.data and len(set(field.data)) != len(field.data):
        raise ValidationError(CHOOSE_FROM_LIST)


class TableForm(FlaskForm):
    dimensions = _checkboxes(
        _l("Count by"),
        [],
        validators=[_distinct],
        description=_l("A table by one or two dimensions keeps most of its cells."),
    )
    threshold = _whole_number(
        _l("Smallest count published"), 1, services.MAX_THRESHOLD, _l("Counts below it are suppressed.")
    )
    rounding = RadioField(
        _l("Rounding"),
        choices=[
            ("none", _l("No rounding")),
            ("random3", _l("Random rounding to base 3")),
            ("down10", _l("Round down to a multiple of 10")),
        ],
        default="none",
        validators=[InputRequired(message=CHOOSE_FROM_LIST)],
        validate_choice=True,
    )

    def configure(self, allowed: list[str], minimum_threshold: int) -> None:
        self.dimensions.choices = [(name, tables.DIMENSIONS[name].label) for name in allowed]
        self.threshold.validators = [self.threshold.validators[0], _range(minimum_threshold, services.MAX_THRESHOLD)]

    def validate_dimensions(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one dimension."))


class SettingsForm(FlaskForm):
    min_k = _whole_number(_l("Minimum k for microdata"), anonymise.MIN_K, services.MAX_K, _l("CTDC uses 11."))
    min_threshold = _whole_number(
        _l("Minimum threshold for tables"), 1, services.MAX_THRESHOLD, _l("CTDC publishes no count below 10.")
    )
    max_dimensions = _whole_number(_l("Most dimensions in one table"), 1, aggregates.MAX_DIMENSIONS)
    allowed_dimensions = _checkboxes(
        _l("Dimensions researchers may count by"),
        [(name, spec.label) for name, spec in tables.DIMENSIONS.items()],
    )
    version_id = HiddenField()

    def validate_version_id(self, field: Any) -> None:
        if not re.fullmatch(r"[0-9]{1,9}", str(field.data or "0")):
            raise ValidationError(_l("The form is out of date: reload the page."))
