"""Masking victim identifiers in free text: names (accent/case-insensitive, whole-word, any
script), phone numbers, e-mail addresses and document numbers."""

from __future__ import annotations

import pytest

from casework.partners.masking import MaskRules, mask_text, name_parts, rules_for

NAME = "[name withheld]"
PHONE = "[phone withheld]"


@pytest.fixture(autouse=True)
def _context(app):
    with app.app_context():
        yield


def names(*values: str) -> MaskRules:
    return MaskRules(names=values)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("José María Nuñez", "jose maria NUNEZ came in", f"{NAME} {NAME} {NAME} came in"),
        ("José María Nuñez", "Señora Núñez-García said", f"Señora {NAME}-García said"),
        ("Nguyễn Thị Ánh", "Met NGUYEN Thi Anh and Ánh's sister", f"Met {NAME} {NAME} {NAME} and {NAME}'s sister"),
        ("Иван Петров", "ИВАН говорит, что петров боится", f"{NAME} говорит, что {NAME} боится"),
        ("Ёлка Фёдорова", "елка пришла", f"{NAME} пришла"),
        ("محمد الأحمد", "قال محمد إن الاحمد", f"قال {NAME} إن {NAME}"),
        ("Amina", "AMINA, amina; Amina.", f"{NAME}, {NAME}; {NAME}."),
        ("Ann", "Annabel and Joann are not Ann", f"Annabel and Joann are not {NAME}"),
        ("Chloé", "Chloe\u0301 (decomposed) and CHLOÉ", f"{NAME} (decomposed) and {NAME}"),
        ("Straße", "STRASSE and strasse", f"{NAME} and {NAME}"),
    ],
)
def test_names_are_masked_whole_word_ignoring_case_and_accents(name, text, expected):
    assert mask_text(text, names(name)) == expected


def test_aliases_in_a_list_are_all_masked():
    rules = names("Zeffi, 'Queen Z' / Zee")
    assert mask_text("zeffi and queen and Zee", rules) == f"{NAME} and {NAME} and {NAME}"


def test_single_letters_are_not_name_parts():
    assert name_parts(["J. R. Tolkien"]) == ["tolkien"]


@pytest.mark.parametrize(
    "number",
    ["+234 803 123 4567", "0803-123-4567", "(020) 7946 0958", "+44 20 7946 0958", "0044.20.7946.0958", "08031234567"],
)
def test_phone_numbers_are_masked(number):
    assert mask_text(f"call {number} today", MaskRules()) == f"call {PHONE} today"


@pytest.mark.parametrize("text", ["on 2025-03-14", "on 14.03.2025", "room 12", "COVID-19 test", "year 2024"])
def test_dates_and_short_numbers_are_left_alone(text):
    assert mask_text(text, MaskRules()) == text


def test_emails_and_documents_are_masked():
    text = "mail ana.ruiz+x@correo.es, passport A12345678, card NIN-1234-5678, permit AB 1234567"
    assert mask_text(text, MaskRules()) == (
        "mail [email withheld], passport [document withheld], card [document withheld], permit [document withheld]"
    )


def test_the_cases_own_document_number_is_masked_however_it_is_spaced():
    rules = MaskRules(documents=False, document_numbers=("XK-88 1234",))
    assert mask_text("doc xk881234 and XK 88-1234", rules) == "doc [document withheld] and [document withheld]"


def test_what_the_recipient_may_see_is_not_masked():
    class Case:
        given_name = "Amina"
        family_name = "Bello"
        aliases = None
        document_number = "A7654321"

    visible = frozenset({"given_name", "phone"})
    rules = rules_for(Case(), visible)
    text = "Amina Bello, +234 803 123 4567, a.bello@example.org, A7654321"
    assert mask_text(text, rules) == f"Amina {NAME}, +234 803 123 4567, [email withheld], [document withheld]"


def test_empty_text_stays_empty():
    assert mask_text(None, MaskRules()) is None
    assert mask_text("", MaskRules()) == ""
