"""casework.cases.display: the case file's value helpers print what the macros of
cases/_macros.html print, to the byte, in every language."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import render_template_string

from casework import access, vocab
from casework.cases import display
from casework.crypto import ERASED

VALUES = [
    access.REDACTED,
    ERASED,
    None,
    "",
    "Ana <b>María</b> & \"co\" 'x'",
    "line one\nline two",
    0,
    42,
    date(2024, 2, 29),
    datetime(2024, 2, 29, 13, 5),
]
MACROS = '{% from "cases/_macros.html" import show, coded, country with context %}'


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar", "ru"])
def test_the_python_helpers_print_what_the_macros_print(app, language):
    codes = [access.REDACTED, ERASED, None, "female", "not_a_code", "<x>"]
    countries = [access.REDACTED, ERASED, None, "NG", "XX", "ZZ", "<x>"]
    with app.test_request_context(headers={"Accept-Language": language}):
        for value in VALUES:
            for multiline in (False, True):
                macro = render_template_string(MACROS + "{{ show(v, multiline=m) }}", v=value, m=multiline)
                assert str(display.show(value, multiline=multiline)) == macro, (value, multiline)
        for value in codes:
            macro = render_template_string(MACROS + "{{ coded(v, vocab.GENDERS) }}", v=value)
            assert str(display.coded(value, vocab.GENDERS)) == macro, value
        for value in countries:
            macro = render_template_string(MACROS + "{{ country(v) }}", v=value)
            assert str(display.country(value)) == macro, value


def test_a_template_that_imports_the_macros_still_uses_them(app):
    with app.test_request_context():
        # The global is casework.cases.display's; the import shadows it.
        assert "Macro" in render_template_string(MACROS + "{{ show.__class__.__name__ }}")
        assert render_template_string("{{ show.__module__ }}") == "casework.cases.display"
