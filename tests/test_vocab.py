"""Tests for casework.vocab: code lists, CTDC mapping, bitmasks, ages, countries."""

import re
from pathlib import Path

import flask
import flask_babel
import pytest

from casework import vocab
from casework.vocab import (
    ALL_LISTS,
    COUNTRIES,
    EXPLOITATION_TYPES,
    GENDERS,
    LABOUR_SECTORS,
    LANGUAGES,
    MEANS_OF_CONTROL,
    RECRUITER_RELATIONSHIPS,
    REFERRAL_SCOPE_FIELDS,
    SEXUAL_EXPLOITATION_TYPES,
    Code,
    CodeList,
    age_band,
    majority,
)

HEADER = Path(__file__).resolve().parents[2] / "shared/ctdc/ctdc_global_header.csv"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

# Frozen snapshot of lists stored as bitmasks. Lists may GROW (append at the end), but
# these prefixes must never change: reordering or removing a code corrupts stored data.
BITMASK_SNAPSHOT = {
    "MEANS_OF_CONTROL": (
        "debt_bondage",
        "takes_earnings",
        "restricts_financial_access",
        "threats",
        "psychological_abuse",
        "physical_abuse",
        "sexual_abuse",
        "false_promises",
        "psychoactive_substances",
        "restricts_movement",
        "restricts_medical_care",
        "excessive_working_hours",
        "uses_children",
        "threat_of_law_enforcement",
        "withholds_necessities",
        "withholds_documents",
        "other",
        "not_specified",
    ),
    "EXPLOITATION_TYPES": (
        "forced_labour",
        "sexual_exploitation",
        "other_exploitation",
        "forced_marriage",
        "forced_military",
        "organ_removal",
        "slavery_and_practices",
    ),
    "LABOUR_SECTORS": (
        "agriculture",
        "aquafarming",
        "begging",
        "construction",
        "domestic_work",
        "hospitality",
        "illicit_activities",
        "manufacturing",
        "mining_or_drilling",
        "peddling",
        "transportation",
        "other",
        "not_specified",
    ),
    "SEXUAL_EXPLOITATION_TYPES": (
        "prostitution",
        "pornography",
        "remote_interactive_services",
        "private_sexual_services",
    ),
    "RECRUITER_RELATIONSHIPS": (
        "intimate_partner",
        "friend",
        "family",
        "other",
        "unknown",
    ),
    "REINTEGRATION_COMPONENTS": (
        "education",
        "vocational_training",
        "income_generation",
        "employment_support",
        "housing",
        "family_reunification",
        "medical_follow_up",
        "psychosocial_follow_up",
        "legal_follow_up",
        "other",
    ),
    "REFERRAL_SCOPE_FIELDS": (
        "given_name",
        "family_name",
        "aliases",
        "date_of_birth",
        "age",
        "gender",
        "citizenship",
        "languages",
        "contact_phone",
        "contact_email",
        "address",
        "identity_document",
        "needs",
        "trafficking_profile",
        "case_notes_shared",
    ),
}

# CTDC flag lists: (column prefix, list)
FLAG_LISTS = [
    ("meansOfControl", MEANS_OF_CONTROL),
    ("is", EXPLOITATION_TYPES),
    ("typeOfLabour", LABOUR_SECTORS),
    ("typeOfSex", SEXUAL_EXPLOITATION_TYPES),
    ("recruiterRelation", RECRUITER_RELATIONSHIPS),
]


@pytest.fixture
def app() -> flask.Flask:
    app = flask.Flask(__name__)
    flask_babel.Babel(app)
    return app


def test_registry_holds_every_module_level_list() -> None:
    module_lists = {v for v in vars(vocab).values() if isinstance(v, CodeList)}
    # M49 sub-regions are written only into the extended CTDC file, in CTDC's fixed English: no
    # form offers them, so they are not a registered (translated, user-facing) list.
    assert module_lists - {vocab.M49_SUBREGIONS} == set(ALL_LISTS.values())
    for name, code_list in ALL_LISTS.items():
        assert code_list.name == name


@pytest.mark.parametrize("name", sorted(ALL_LISTS))
def test_codes_unique_and_well_formed(name: str) -> None:
    code_list = ALL_LISTS[name]
    codes = [c.code for c in code_list]
    assert codes and len(codes) == len(set(codes)) == len(code_list)
    for c in code_list:
        if code_list is COUNTRIES:
            assert re.fullmatch(r"[A-Z]{2}|00", c.code)
        elif code_list is LANGUAGES:
            assert re.fullmatch(r"[a-z]{2}(_[A-Z]{2})?", c.code)
        else:
            assert SNAKE.match(c.code), c.code
        assert str(c.label).strip()


def test_duplicate_code_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        CodeList(
            "x",
            Code("a", flask_babel.lazy_gettext("A")),
            Code("a", flask_babel.lazy_gettext("B")),
        )


def test_flag_lists_have_ctdc_names() -> None:
    for _prefix, code_list in FLAG_LISTS:
        for c in code_list:
            assert c.ctdc and re.fullmatch(r"[A-Z][A-Za-z]*", c.ctdc)
    # the concatenated labels the contract lists
    assert MEANS_OF_CONTROL.get("withholds_documents").ctdc_label == ("Withholds/Destroys Important Documents")
    assert EXPLOITATION_TYPES.get("forced_labour").ctdc_label == ("Forced labour and/or services")
    assert RECRUITER_RELATIONSHIPS.get("unknown").ctdc_label == "Not Specified"
    assert {c.ctdc for c in GENDERS} == {
        "Female",
        "Male",
        "Transgender/NonConforming",
        "Unknown",
    }


@pytest.mark.parametrize(("prefix", "code_list"), FLAG_LISTS, ids=[p for p, _ in FLAG_LISTS])
def test_flag_columns_exist_in_header_order(prefix: str, code_list: CodeList) -> None:
    if not HEADER.exists():
        pytest.skip(f"{HEADER} missing")
    header = HEADER.read_text(encoding="utf-8").splitlines()[0].split(",")
    columns = [prefix + c.ctdc for c in code_list if c.ctdc]
    assert len(columns) == len(code_list)
    positions = [header.index(col) for col in columns]  # ValueError if absent
    assert positions == sorted(positions)


def test_mask_round_trip() -> None:
    for code_list in (MEANS_OF_CONTROL, LABOUR_SECTORS, REFERRAL_SCOPE_FIELDS):
        everything = {c.code for c in code_list}
        assert code_list.codes_of(code_list.mask_of(everything)) == everything
        assert code_list.mask_of(everything) == (1 << len(code_list)) - 1
    mask = MEANS_OF_CONTROL.mask_of(["threats", "debt_bondage"])
    assert mask == 0b1001
    assert MEANS_OF_CONTROL.codes_of(mask) == {"debt_bondage", "threats"}
    assert MEANS_OF_CONTROL.mask_of([]) == 0
    assert MEANS_OF_CONTROL.codes_of(0) == frozenset()
    assert MEANS_OF_CONTROL.mask_of("threats") == 0b1000  # a bare string is one code


def test_mask_none_and_errors() -> None:
    assert MEANS_OF_CONTROL.mask_of(None) is None
    assert MEANS_OF_CONTROL.codes_of(None) is None
    with pytest.raises(ValueError):
        MEANS_OF_CONTROL.mask_of(["threats", "no_such_code"])
    with pytest.raises(ValueError):
        SEXUAL_EXPLOITATION_TYPES.codes_of(1 << len(SEXUAL_EXPLOITATION_TYPES))
    with pytest.raises(TypeError):
        COUNTRIES.mask_of(["UA"])


@pytest.mark.parametrize("name", sorted(BITMASK_SNAPSHOT))
def test_bitmask_lists_are_append_only(name: str) -> None:
    snapshot = BITMASK_SNAPSHOT[name]
    current = tuple(c.code for c in getattr(vocab, name))
    assert current[: len(snapshot)] == snapshot, f"{name} was reordered or shrunk: only append new codes at the end"


def test_lookup_helpers() -> None:
    assert "male" in GENDERS and "nope" not in GENDERS and None not in GENDERS
    assert GENDERS.get("male").ctdc == "Male"
    with pytest.raises(KeyError):
        GENDERS.get("nope")
    assert GENDERS.label("female") == "Female"
    assert GENDERS.label(None) == ""
    assert GENDERS.label("legacy_code") == "legacy_code"
    assert GENDERS.index("female") == 0
    assert [code for code, _label in GENDERS.choices()] == [c.code for c in GENDERS]
    assert [str(c.label) for c in LANGUAGES] == ["English", "Français", "Español", "العربية", "Русский"]


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0--8"),
        (8, "0--8"),
        (9, "9--17"),
        (17, "9--17"),
        (18, "18--20"),
        (20, "18--20"),
        (21, "21--23"),
        (23, "21--23"),
        (24, "24--26"),
        (26, "24--26"),
        (27, "27--29"),
        (29, "27--29"),
        (30, "30--38"),
        (38, "30--38"),
        (39, "39--47"),
        (47, "39--47"),
        (48, "48+"),
        (99, "48+"),
        (None, "-99"),
    ],
)
def test_age_band(age: int | None, band: str) -> None:
    assert age_band(age) == band


def test_majority() -> None:
    assert majority(17) == "Minor"
    assert majority(18) == "Adult"
    assert majority(0) == "Minor"
    assert majority(None) == "-99"


def test_countries_basics() -> None:
    codes = [c.code for c in COUNTRIES]
    assert codes[0] == "00"
    assert codes[1:] == sorted(codes[1:])
    assert "UA" in COUNTRIES and "XK" in COUNTRIES
    assert not {"EU", "UN", "ZZ", "XA", "EZ", "QO"} & set(codes)
    assert 240 < len(COUNTRIES) < 260
    assert COUNTRIES.label("00") == "Unknown country"
    assert COUNTRIES.label("FR") == "France"  # no app context: English
    assert COUNTRIES.get("UA").ctdc == "UA"
    assert vocab.country_name("DE", "fr") == "Allemagne"


def test_country_labels_follow_request_locale(app: flask.Flask) -> None:
    with app.test_request_context():
        assert COUNTRIES.label("FR") == "France"
        assert COUNTRIES.label("DE") == "Germany"
        with flask_babel.force_locale("fr"):
            assert COUNTRIES.label("FR") == "France"
            assert COUNTRIES.label("DE") == "Allemagne"
            assert str(dict(COUNTRIES.choices())["DE"]) == "Allemagne"
