"""Forms: the researcher's release requests and the supervisor's policy for their dataset."""

from __future__ import annotations

import math
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    ValidationError,
)
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from casework.exports import aggregates, columns, ctdc, policy, tables

NOT_A_NUMBER = _l("Enter a whole number.")
NOT_A_DECIMAL = _l("Enter a number such as 1 or 0.5.")
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
VIEW_CHOICES = [(name, label) for name, label in columns.VIEW_LABELS.items()]
COLUMN_CHOICES = [(name, name) for name in ctdc.HEADER]


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


class DecimalNumberField(IntegerField):
    """A non-negative decimal number (``1``, ``0.5``, ``2e-6``), nothing else."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?([eE]-?[0-9]{1,2})?", text):
            self.data = None
            if text:
                raise ValueError(str(NOT_A_DECIMAL))
            return
        value = float(text)
        self.data = value if math.isfinite(value) else None


def _range(low: float, high: float) -> NumberRange:
    return NumberRange(low, high, message=_l("Enter a number from %(min)s to %(max)s."))


def _whole_number(label: Any, low: int, high: int, description: Any = None, **kwargs: Any) -> WholeNumberField:
    validators = [InputRequired(message=NOT_A_NUMBER), _range(low, high)]
    return WholeNumberField(label, description=description, validators=validators, **kwargs)


def _dataset_field(form: str) -> SelectField:
    return SelectField(
        _l("Dataset"),
        choices=[],
        validate_choice=True,
        description=_l("The organisation whose consented cases are released."),
        id=f"{form}-dataset",
    )


def _views(form: str) -> RadioField:
    return RadioField(_l("Columns"), choices=VIEW_CHOICES, default="core", validate_choice=True, id=f"{form}-view")


def _columns_chosen(form: FlaskForm, field: Any) -> None:
    """The custom view needs at least one column."""
    if form.view.data == "custom" and not field.data:
        raise ValidationError(_l("Choose at least one column."))


class _DatasetForm(FlaskForm):
    """A request form; four share the researcher's page, so field ids carry the form's name."""

    dataset: SelectField

    def set_datasets(self, choices: list[tuple[str, str]]) -> None:
        self.dataset.choices = choices
        if len(choices) == 1 and not self.dataset.data:
            self.dataset.data = choices[0][0]


class MicrodataForm(_DatasetForm):
    dataset = _dataset_field("microdata")
    view = _views("microdata")
    columns = _checkboxes(
        _l("The columns I choose"),
        COLUMN_CHOICES,
        description=_l("Only for “The columns I choose”. Every other column is -99 in the file."),
        validators=[_columns_chosen],
        id="microdata-columns",
    )
    k = _whole_number(
        _l("k: the fewest people who must share every released combination"),
        policy.FLOOR_K,
        policy.MAX_K,
        _l("At least 11. A higher k hides more."),
        id="microdata-k",
    )
    extended = BooleanField(
        _l("Extended file"),
        description=_l(
            "Adds columns after the 63 with the UN M49 sub-region of the countries and a 5-year period of "
            "registration, kept where the exact value would single someone out."
        ),
        id="microdata-extended",
    )
    priority = _checkboxes(
        _l("Keep these columns as complete as possible"),
        PRIORITY_COLUMNS,
        description=_l("Optional. Other columns then lose more; the report shows how much."),
        id="microdata-priority",
    )


def _dimensions(form: str) -> MultiCheckboxField:
    return _checkboxes(
        _l("Count by"),
        [],
        description=_l("A table by one or two dimensions keeps most of its cells."),
        id=f"{form}-dimensions",
    )


def _threshold(form: str) -> WholeNumberField:
    return _whole_number(
        _l("Smallest count published"),
        policy.FLOOR_THRESHOLD,
        policy.MAX_THRESHOLD,
        _l("At least 10. Smaller counts are hidden."),
        id=f"{form}-threshold",
    )


class TableForm(_DatasetForm):
    dataset = _dataset_field("table")
    dimensions = _dimensions("table")
    threshold = _threshold("table")

    def configure(self, allowed: list[str]) -> None:
        self.dimensions.choices = [(name, tables.DIMENSIONS[name].label) for name in allowed]

    def validate_dimensions(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one dimension."))
        if len(set(field.data)) != len(field.data):
            raise ValidationError(CHOOSE_FROM_LIST)


def _epsilon_field(form: str) -> DecimalNumberField:
    return DecimalNumberField(
        _l("ε (epsilon): the privacy budget this release spends"),
        validators=[
            InputRequired(message=NOT_A_DECIMAL),
            _range(policy.MIN_RELEASE_EPSILON, policy.MAX_RELEASE_EPSILON),
        ],
        description=_l("Smaller is more private and less accurate. The dataset's budget is spent for good."),
        id=f"{form}-epsilon",
    )


class SyntheticForm(_DatasetForm):
    dataset = _dataset_field("synthetic")
    view = _views("synthetic")
    columns = _checkboxes(
        _l("The columns I choose"), COLUMN_CHOICES, validators=[_columns_chosen], id="synthetic-columns"
    )
    epsilon = _epsilon_field("synthetic")


class DpTableForm(TableForm):
    dataset = _dataset_field("dp_table")
    dimensions = _dimensions("dp_table")
    threshold = _threshold("dp_table")
    epsilon = _epsilon_field("dp_table")


def _floor(name: Any, floor: int) -> Any:
    def check(form: FlaskForm, field: Any) -> None:
        if field.data is not None and field.data < floor:
            raise ValidationError(_l("%(name)s cannot be lowered below %(floor)s.", name=name, floor=floor))

    return check


class PolicyForm(FlaskForm):
    min_k = WholeNumberField(
        _l("Minimum k for microdata"),
        description=_l("At least 11 (CTDC's k)."),
        validators=[
            InputRequired(message=NOT_A_NUMBER),
            _floor(_l("The minimum k"), policy.FLOOR_K),
            _range(policy.FLOOR_K, policy.MAX_K),
        ],  # fmt: skip
    )
    min_threshold = WholeNumberField(
        _l("Smallest count published in tables"),
        description=_l("At least 10 (CTDC publishes no count below 10)."),
        validators=[
            InputRequired(message=NOT_A_NUMBER),
            _floor(_l("The smallest published count"), policy.FLOOR_THRESHOLD),
            _range(policy.FLOOR_THRESHOLD, policy.MAX_THRESHOLD),
        ],  # fmt: skip
    )
    max_dimensions = _whole_number(_l("Most dimensions in one table"), 1, aggregates.MAX_DIMENSIONS)
    allowed_dimensions = _checkboxes(
        _l("Dimensions researchers may count by"),
        [(name, spec.label) for name, spec in tables.DIMENSIONS.items()],
    )
    protection_width = WholeNumberField(
        _l("Protection interval of hidden counts"),
        description=_l("However a table is combined with what is published, a hidden count stays this uncertain."),
        validators=[
            InputRequired(message=NOT_A_NUMBER),
            _floor(_l("The protection interval"), policy.FLOOR_WIDTH),
            _range(policy.FLOOR_WIDTH, policy.MAX_WIDTH),
        ],  # fmt: skip
    )
    noise_scale = DecimalNumberField(
        _l("Perturbation of published counts (scale)"),
        description=_l("Every published count carries noise of about this size, the same for the same cell."),
        validators=[
            InputRequired(message=NOT_A_DECIMAL),
            _floor(_l("The perturbation scale"), int(policy.FLOOR_NOISE_SCALE)),
            _range(policy.FLOOR_NOISE_SCALE, policy.MAX_NOISE_SCALE),
        ],  # fmt: skip
    )
    rounding_base = RadioField(
        _l("Rounding of published counts"),
        choices=[(str(base), str(base)) for base in policy.ROUNDING_BASES],
        default="1",
        validate_choice=True,
        description=_l("1: no rounding."),
    )
    epsilon_budget = DecimalNumberField(
        _l("Privacy budget (total ε) for differentially private releases"),
        description=_l("Every private release spends part of it, for good. 0: no private release."),
        validators=[InputRequired(message=NOT_A_DECIMAL), _range(0, policy.MAX_EPSILON_BUDGET)],
    )
    version_id = HiddenField()

    def validate_version_id(self, field: Any) -> None:
        if not re.fullmatch(r"[0-9]{1,9}", str(field.data or "0")):
            raise ValidationError(_l("The form is out of date: reload the page."))
