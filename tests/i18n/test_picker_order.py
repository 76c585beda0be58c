"""Country and language pickers list their options by name in the reader's language (Babel's
CLDR names), not by ISO code ("Andorra, United Arab Emirates, Afghanistan" was the old order)."""

from __future__ import annotations

import re

import pytest

from casework import vocab

LANGUAGES = ["en", "fr", "es"]
# (earlier, later) pairs that an ISO-code order gets wrong, per reader's language.
EXPECTED_PAIRS = {
    "en": [("AF", "AD"), ("AD", "AE"), ("DE", "GB"), ("AX", "AL")],  # Afghanistan, Andorra, UAE; Åland
    "fr": [("AF", "ZA"), ("ZA", "DE"), ("DE", "AD"), ("AE", "EC"), ("EC", "ES")],  # Afrique du Sud, Émirats
    "es": [("AF", "DE"), ("DE", "AD"), ("AE", "ES"), ("ES", "US")],  # Afganistán, Alemania; Emiratos
}
LANGUAGE_ORDER = {
    "en": ["ar", "en", "fr", "ru", "es"],  # Arabic, English, French, Russian, Spanish
    "fr": ["en", "ar", "es", "fr", "ru"],  # anglais, arabe, espagnol, français, russe
    "es": ["ar", "es", "fr", "en", "ru"],  # árabe, español, francés, inglés, ruso
    "ar": ["es", "en", "ru", "ar", "fr"],  # الإسبانية، الإنجليزية، الروسية، العربية، الفرنسية
    "ru": ["en", "ar", "es", "ru", "fr"],  # английский, арабский, испанский, русский, французский
}


def options_of(html: str, select_id: str) -> list[tuple[str, str]]:
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select #{select_id}"
    return re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', match.group(1))


def page_in(client, language: str, path: str) -> str:
    client.post("/language", data={"language": language, "next": "/"})
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_registration_countries_are_sorted_by_name_in_the_readers_language(client, login, make_user, language):
    login(client, make_user("caseworker"))
    html = page_in(client, language, "/cases/new")
    for select_id in ("citizenship", "country_of_exploitation", "document_country"):
        options = options_of(html, select_id)
        assert options[0][0] == "" and options[1][0] == vocab.UNKNOWN_COUNTRY  # blank, then unknown
        codes = [code for code, _name in options[2:]]
        names = [name for _code, name in options[2:]]
        assert names == sorted(names, key=vocab.collation_key), f"{select_id} not in name order"
        assert len(codes) == len(vocab.COUNTRIES) - 1
        for earlier, later in EXPECTED_PAIRS[language]:
            assert codes.index(earlier) < codes.index(later), (language, earlier, later)


@pytest.mark.parametrize("language", LANGUAGES)
def test_case_list_and_admin_country_filters_are_sorted_too(client, login, make_user, language):
    login(client, make_user("supervisor"))
    html = page_in(client, language, "/cases/")
    codes = [code for code, _name in options_of(html, "country")[2:]]
    for earlier, later in EXPECTED_PAIRS[language]:
        assert codes.index(earlier) < codes.index(later)
    with client.application.test_request_context():
        from flask_babel import force_locale

        from casework.admin.forms import _country_choices

        with force_locale(language):
            admin_codes = [code for code, _label in _country_choices()][1:]
    assert admin_codes[0] == vocab.UNKNOWN_COUNTRY
    for earlier, later in EXPECTED_PAIRS[language]:
        assert admin_codes.index(earlier) < admin_codes.index(later)


@pytest.mark.parametrize("language", LANGUAGE_ORDER)
def test_interface_languages_are_sorted_by_their_name_in_the_readers_language(client, language):
    html = page_in(client, language, "/auth/login")
    assert [code for code, _name in options_of(html, "language-select")] == LANGUAGE_ORDER[language]
    assert 'lang="fr">Français</option>' in html  # each shown in its own language


def test_collation_ignores_accents_and_case():
    names = ["Émirats arabes unis", "Égypte", "Équateur", "Espagne", "Estonie", "Eswatini", "Éthiopie", "États-Unis"]
    assert sorted(names, key=vocab.collation_key) == [
        "Égypte", "Émirats arabes unis", "Équateur", "Espagne", "Estonie", "Eswatini", "États-Unis", "Éthiopie"
    ]  # fmt: skip
