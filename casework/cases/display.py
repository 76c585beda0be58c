"""The case file's value helpers in Python: ``show``, ``coded`` and ``country`` of
templates/cases/_macros.html, with the same output to the byte (tests/cases/test_display.py
renders both). The case file calls them some twenty times; a Jinja macro call costs several
times what a function call does, and the case file is the most opened page.

A withheld field (access.REDACTED) says "withheld"; an erased one (crypto-shredded) says
"erased"; an empty one says "not recorded".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from casework import access, vocab
from casework.crypto import ERASED
from casework.i18n import once_per_language

WITHHELD = _l("withheld")
ERASED_TEXT = _l("erased")
NOT_RECORDED = _l("not recorded")


def _text(key: str, message: LazyString) -> Markup:
    # As the template's ``_()``: our own reviewed catalogue, not escaped.
    return Markup(once_per_language(("display", key), message.__str__))  # noqa: S704


def show(value: Any, multiline: bool = False) -> Markup:
    """``show(value, multiline)`` of cases/_macros.html."""
    if value is access.REDACTED:
        return Markup('<span class="withheld">%s</span>') % _text("withheld", WITHHELD)
    if value is ERASED:
        return Markup('<span class="erased">%s</span>') % _text("erased", ERASED_TEXT)
    if value is None or value == "":
        return Markup('<span class="not-recorded">%s</span>') % _text("not recorded", NOT_RECORDED)
    if isinstance(value, date):
        day = value.isoformat()
        return Markup('<time class="case-date" datetime="%s">%s</time>') % (day, day)
    if multiline:
        return Markup('<span class="multiline">%s</span>') % value
    return escape(value)


def coded(value: Any, code_list: vocab.CodeList) -> Markup:
    """``coded(value, code_list)`` of cases/_macros.html: a code's label in the current language."""
    if value is access.REDACTED or value is ERASED or value is None:
        return show(value)
    return escape(code_list.label(value))


def country(value: Any) -> Markup:
    """``country(value)`` of cases/_macros.html: a country's name in the current language."""
    if value is access.REDACTED or value is ERASED or value is None:
        return show(value)
    return escape(vocab.country_name(value))
