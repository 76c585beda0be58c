"""Every code label of every list (countries and language names aside) speaks French and
Spanish: a label the catalog misses would show in English in forms, case files and reports."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from casework import vocab
from tests.i18n.catalogs import LANGUAGES, catalog

UNTRANSLATED_LISTS = {"countries", "languages"}  # CLDR names; each language's own name
LISTS = [name for name in vocab.ALL_LISTS if name not in UNTRANSLATED_LISTS]


def source_text(label) -> str:
    """The English msgid behind a lazy label."""
    return label._args[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_label_is_translated(app, language):
    translations = catalog(language)
    missing, not_shown = [], []
    with app.test_request_context(), force_locale(language):
        for list_name in LISTS:
            code_list = vocab.ALL_LISTS[list_name]
            for code in code_list:
                message = translations.get(source_text(code.label))
                if message is None or not message.string:
                    missing.append(f"{list_name}.{code.code}")
                # What the app shows is the catalog's translation (the compiled catalog is loaded).
                elif code_list.label(code.code) != message.string:
                    not_shown.append(f"{list_name}.{code.code}")
    assert missing == []
    assert not_shown == []


def test_lists_checked_are_all_but_countries_and_languages():
    assert set(LISTS) | UNTRANSLATED_LISTS == set(vocab.ALL_LISTS)
    assert len(LISTS) >= 30
