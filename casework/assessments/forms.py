"""The assessment form: one field per item of the chosen instrument."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from casework import vocab
from casework.assessments.instruments import Instrument
from casework.assessments.services import MAX_TEXT
from casework.cases.forms import a_date, code_choices
from casework.cases.validation import NoControlCharacters, clean_multiline


def _text(label: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=MAX_TEXT), NoControlCharacters(multiline=True)],
        filters=[clean_multiline],
        render_kw={"rows": 4},
    )


def item_field_name(code: str) -> str:
    return f"item_{code}"


def assessment_form(instrument: Instrument, **kwargs: Any) -> FlaskForm:
    """A form class built for ``instrument`` (its items as radio groups), instantiated."""

    class AssessmentForm(FlaskForm):
        assessed_on = a_date(_l("Assessed on"), required=True)
        notes = _text(_l("Notes"))

    for item in instrument.items:
        field = RadioField(
            item.label,
            choices=instrument.answers.choices(),
            validators=[InputRequired(message=_l("Answer this question."))],
        )
        setattr(AssessmentForm, item_field_name(item.code), field)
    if instrument.kind == "screening":
        AssessmentForm.outcome = SelectField(  # type: ignore[attr-defined]
            _l("Outcome of the interview"),
            choices=code_choices(vocab.SCREENING_OUTCOMES, _l("Choose…")),
            validators=[InputRequired(message=_l("Choose one of the listed options."))],
        )
    if instrument.safety_plan:
        AssessmentForm.safety_plan = _text(_l("Safety plan"))  # type: ignore[attr-defined]
    return AssessmentForm(**kwargs)
