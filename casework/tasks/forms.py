"""Task forms: add, reschedule/reassign, close or reopen, and the list's filters."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange, Optional

from casework import vocab
from casework.cases.forms import a_date, text_field
from casework.tasks.services import TITLE_MAX, TYPED_TITLES

ACTIONS = ("done", "cancelled", "open")


def title_choices() -> list[tuple[str, Any]]:
    return [("", _l("Choose…"))] + [(code, vocab.TASK_TITLES.label(code)) for code in TYPED_TITLES]


class TaskForm(FlaskForm):
    title_code = SelectField(_l("Task"), choices=[], validate_choice=True)
    title = text_field(
        _l("Details"), TITLE_MAX, description=_l("Required for “Other”. Visible to whoever may open the case.")
    )
    due_on = a_date(_l("Due on"), required=True, description=_l("A date in the past is allowed: it shows as overdue."))
    assignee = SelectField(_l("Who"), choices=[], default="", validate_choice=True)


class TaskEditForm(FlaskForm):
    due_on = a_date(_l("Due on"), required=True)
    assignee = SelectField(_l("Who"), choices=[], default="", validate_choice=True)
    version_id = HiddenField(validators=[DataRequired()])


class TaskStatusForm(FlaskForm):
    action = SelectField(
        _l("Action"),
        choices=[("done", _l("Done")), ("cancelled", _l("Cancel")), ("open", _l("Reopen"))],
        validate_choice=True,
    )
    version_id = HiddenField(validators=[DataRequired()])


class TaskFilterForm(FlaskForm):
    """A GET form: codes only."""

    class Meta:
        csrf = False

    due = SelectField(
        _l("Due"),
        choices=[
            ("open", _l("All open")),
            ("overdue", _l("Overdue")),
            ("week", _l("Due within a week")),
            ("all", _l("All, closed included")),
        ],
        default="open",
        validate_choice=True,
    )
    scope = SelectField(
        _l("Whose"), choices=[("mine", _l("Mine")), ("team", _l("My team's"))], default="mine", validate_choice=True
    )
    page = IntegerField(
        _l("Page"),
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("Choose a page from 1 to 100000."))],
    )
