"""Case plan forms: a goal, a review of the plan, a closure request, a supervisor's decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework import vocab
from casework.cases.forms import a_date, code_choices
from casework.cases.validation import NoControlCharacters, clean_line, clean_multiline
from casework.plans.services import MAX_TEXT


def _text(label: object, required: bool = False, message: object = None) -> TextAreaField:
    presence = DataRequired(message=message) if required else Optional()
    return TextAreaField(
        label,
        validators=[presence, Length(max=MAX_TEXT), NoControlCharacters(multiline=True)],
        filters=[clean_multiline],
        render_kw={"rows": 4},
    )


class GoalForm(FlaskForm):
    domain = SelectField(
        _l("Domain"), choices=code_choices(vocab.PLAN_DOMAINS, _l("Choose…")), validators=[DataRequired()]
    )
    description = _text(_l("Goal"), required=True, message=_l("Describe the goal."))
    status = SelectField(_l("Status"), choices=vocab.PLAN_GOAL_STATUSES.choices(), default="open")
    target_on = a_date(_l("Target date"))
    version_id = HiddenField()


class ReviewForm(FlaskForm):
    reviewed_on = a_date(_l("Reviewed on"), required=True)
    next_review_on = a_date(_l("Next review on"), required=True)
    summary = _text(_l("What the review found"))


class ClosureRequestForm(FlaskForm):
    summary = _text(_l("Why the case can close"), required=True, message=_l("Say why the case can close."))


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve")), ("reject", _l("Send back"))],
        validators=[InputRequired(message=_l("Choose one of the listed options."))],
    )
    note = _text(_l("Note to the author"))


class ActionForm(FlaskForm):
    """An action of a goal: a task with an owner and a due date (casework.tasks)."""

    title_code = SelectField(_l("What"), choices=[], validators=[DataRequired(message=_l("Choose what the task is."))])
    title = StringField(
        _l("In your words"),
        validators=[Optional(), Length(max=200), NoControlCharacters()],
        filters=[clean_line],
    )
    assignee = SelectField(_l("Owner"), choices=[])
    due_on = a_date(_l("Due on"), required=True)
