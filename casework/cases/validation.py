"""Input rules shared by the case forms and services: text cleaning, control characters, dates.

Forms use these as WTForms filters/validators; services call them again on whatever they are
given, so a rule holds even for callers that never went through a form (imports, the demo).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, Form
from wtforms.validators import ValidationError

# C0/C1 controls and DEL; bidirectional overrides/isolates (they can make a name display as
# something else). Tab, newline and carriage return are allowed in multi-line text only.
_FORBIDDEN_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

CONTROL_CHARACTERS_MESSAGE = _l(
    "This contains control characters (invisible characters that cannot be stored). Remove them and try again."
)
FUTURE_DATE_MESSAGE = _l("This date is in the future.")
EARLIEST_DATE = date(1900, 1, 1)
TOO_EARLY_MESSAGE = _l("This date is too far in the past.")


def clean_line(value: Any) -> Any:
    """WTForms filter for single-line text: Unicode NFC, outer whitespace removed."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def clean_multiline(value: Any) -> Any:
    """WTForms filter for multi-line text: NFC, newlines as ``\\n``, outer whitespace removed."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return unicodedata.normalize("NFC", value).strip()
    return value


def has_control_characters(value: str | None, multiline: bool = False) -> bool:
    if not value:
        return False
    pattern = _FORBIDDEN_MULTI_LINE if multiline else _FORBIDDEN_SINGLE_LINE
    return pattern.search(value) is not None


class NoControlCharacters:
    """WTForms validator: refuse control characters (newline and tab allowed when multi-line)."""

    def __init__(self, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data, self.multiline):
            raise ValidationError(str(CONTROL_CHARACTERS_MESSAGE))


def check_past_date(value: date | None, today: date, earliest: date = EARLIEST_DATE) -> str | None:
    """The message for a date that is in the future or implausibly old, else None."""
    if value is None:
        return None
    if value > today:
        return str(FUTURE_DATE_MESSAGE)
    if value < earliest:
        return str(TOO_EARLY_MESSAGE)
    return None


def years_between(born: date, on: date) -> int:
    """Completed years from ``born`` to ``on`` (an age)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class InputErrors(ValueError):
    """Refused input: ``errors`` maps a field name to its messages (shown next to the field).

    The message of the exception itself names only the fields, never their values.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("refused input in: " + ", ".join(sorted(errors)))
        self.errors = errors


class ErrorCollector:
    """Collects field errors; :meth:`raise_if_any` raises :class:`InputErrors`."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: Any) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def check_text(self, field: str, value: str | None, max_length: int, multiline: bool = False) -> None:
        if value is None:
            return
        if len(value) > max_length:
            self.add(field, _l("Use at most %(max)d characters.", max=max_length))
        if has_control_characters(value, multiline):
            self.add(field, CONTROL_CHARACTERS_MESSAGE)

    def check_code(self, field: str, value: str | None, code_list: Any) -> None:
        if value is not None and value not in code_list:
            self.add(field, _l("Choose one of the listed options."))

    def check_codes(self, field: str, values: Any, code_list: Any) -> None:
        if values is not None and any(v not in code_list for v in values):
            self.add(field, _l("Choose only the listed options."))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InputErrors(self.errors)


def apply_errors(form: Form, errors: dict[str, list[str]]) -> None:
    """Put a service's refusals next to the form's fields (unknown names go on the form)."""
    for name, messages in errors.items():
        target = form._fields.get(name)
        if target is None:
            form.form_errors.extend(messages)
            continue
        target.errors = [*target.errors, *messages]


def add_rule_errors(form: Form, check: Callable[[], Any]) -> None:
    """After a form refused some fields, run the service's rules too (``check`` validates what
    the form could parse, refused fields left blank), so that every error is reported in one
    round. A field the form already refused gets no second message about the same input."""
    try:
        check()
    except InputErrors as refused:
        apply_errors(form, {name: messages for name, messages in refused.errors.items() if not _has_errors(form, name)})


def _has_errors(form: Form, name: str) -> bool:
    target = form._fields.get(name)
    return target is not None and bool(target.errors)
