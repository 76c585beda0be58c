"""The French and Spanish catalogs: complete, faithful to their placeholders, compiled."""

from __future__ import annotations

import gettext
import io
import re

import pytest
from babel.messages.mofile import write_mo

from tests.i18n.catalogs import LANGUAGES, catalog, extracted_ids, forms, messages, mo_path, placeholders


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation(language):
    untranslated = [m.id for m in messages(language) if not all(s.strip() for s in forms(m.string))]
    fuzzy = [m.id for m in messages(language) if m.fuzzy]
    assert messages(language), "the catalog is empty"
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_messages_have_every_form(language):
    plurals = [m for m in messages(language) if m.pluralizable]
    assert plurals, "the catalogs are expected to hold ngettext messages"
    for message in plurals:
        assert len(forms(message.string)) == catalog(language).num_plurals, message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for message in messages(language):
        expected = set().union(*(placeholders(s) for s in forms(message.id)))
        for translated in forms(message.string):
            if placeholders(translated) != expected:
                wrong.append((message.id, translated))
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalog(language):
    """A string added to the code or a template without `scripts/i18n update` and a translation
    would show in English: this lists them."""
    translated = {m.id if isinstance(m.id, str) else tuple(m.id) for m in messages(language)}
    missing = sorted(map(str, extracted_ids() - translated))
    assert missing == [], "run scripts/i18n update, translate, then scripts/i18n compile"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_is_up_to_date(language):
    """The .mo the app loads says exactly what the .po says (header aside: its dates change on
    every update)."""
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language))
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    with mo_path(language).open("rb") as f:
        on_disk = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    expected.pop("", None)
    on_disk.pop("", None)
    stale = sorted(
        str(k) for k in expected.keys() ^ on_disk.keys() | {k for k in expected if on_disk.get(k) != expected[k]}
    )
    assert stale == [], "run scripts/i18n compile"


def test_french_punctuation_has_its_space():
    """French puts a (non-breaking) space before : ; ? and !."""
    glued = re.compile(r"[^\s\u00a0\u202f][:;?!](?=\s|$)")
    wrong = [s for m in messages("fr") for s in forms(m.string) if glued.search(s)]
    assert wrong == []


def test_spanish_questions_open_with_their_mark():
    wrong = [s for m in messages("es") for s in forms(m.string) if s.rstrip().endswith("?") and "¿" not in s]
    assert wrong == []
