"""Edit conflicts: the saved version and the unsaved one, field by field.

Both versions are WTForms forms (the saved one built from the database, yours from the
request), so every field is described the same way the form shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from wtforms import BooleanField, FieldList, Form, RadioField, SelectField, SelectMultipleField

SKIPPED = frozenset({"csrf_token", "version_id", "duplicate_decision", "duplicates_seen"})
NOT_ASKED_SUFFIX = "_not_asked"


@dataclass(frozen=True)
class ConflictRow:
    name: str
    label: str
    theirs: str
    yours: str

    @property
    def differs(self) -> bool:
        return self.theirs != self.yours


def _choice_label(field: Any, value: Any) -> str:
    for code, label in field.choices or ():
        if code == value:
            return str(label)
    return "" if value in (None, "") else str(value)


def describe(field: Any) -> str:
    """What a field holds, in words, as the form shows it."""
    if isinstance(field, FieldList):
        return ", ".join(describe(entry) for entry in field if entry.data)
    if isinstance(field, SelectMultipleField):
        chosen = set(field.data or ())
        return ", ".join(str(label) for code, label in field.choices if code in chosen)
    if isinstance(field, (SelectField, RadioField)):
        return _choice_label(field, field.data)
    if isinstance(field, BooleanField):
        return _("Yes") if field.data else _("No")
    if isinstance(field.data, date):
        return field.data.isoformat()
    if field.data is None or field.data == "":
        return ""
    return str(field.data)


def _describe_answer(form: Form, name: str) -> str:
    """A multi-valued answer with its "not asked" box: not asked, none, or the answers."""
    text = describe(form[name])
    if text:
        return text
    return _("Not asked or not known") if form[name + NOT_ASKED_SUFFIX].data else _("None")


def compare(theirs: Form, yours: Form) -> list[ConflictRow]:
    """One row per field of the form (in form order), saved value beside the unsaved one."""
    rows = []
    for field in yours:
        name = field.name
        if name in SKIPPED or name.endswith(NOT_ASKED_SUFFIX) or field.type == "HiddenField":
            continue
        if name + NOT_ASKED_SUFFIX in yours:
            theirs_text, yours_text = _describe_answer(theirs, name), _describe_answer(yours, name)
        else:
            theirs_text, yours_text = describe(theirs[name]), describe(field)
        rows.append(ConflictRow(name, str(field.label.text), theirs_text, yours_text))
    return rows
