"""The synthetic-case generator: shapes roughly as the CTDC contract describes, valid codes,
consistent dates, reproducible from its seed."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest

from casework import vocab
from casework.synthetic import CATEGORIES, SyntheticParameters, generate


@pytest.fixture(scope="module")
def cases():
    return generate(2000, SyntheticParameters(seed=11))


def test_women_and_girls_are_about_two_thirds_to_three_quarters(cases):
    share = float(np.mean(cases.gender == "female"))
    assert 0.6 <= share <= 0.8


def test_ages_mostly_young_adults_with_a_sizeable_minority_of_minors(cases):
    known = cases.age[cases.age >= 0]
    assert 0.1 <= float(np.mean(known < 18)) <= 0.35
    assert float(np.mean((known >= 18) & (known <= 38))) > 0.5
    assert 0 < float(np.mean(cases.age < 0)) < 0.1  # some not recorded


def test_citizenships_are_skewed_and_exploitation_concentrated(cases):
    citizenships = Counter(c for c in cases.citizenship.tolist() if c)
    top5 = sum(count for _, count in citizenships.most_common(5))
    assert top5 / sum(citizenships.values()) > 0.4
    assert len(citizenships) > 40  # a long tail
    destinations = Counter(c for c in cases.country_of_exploitation.tolist() if c not in ("", "00"))
    top10 = sum(count for _, count in destinations.most_common(10))
    assert top10 / sum(destinations.values()) > 0.5
    same = cases.citizenship == cases.country_of_exploitation
    assert 0.15 < float(np.mean(same)) < 0.6  # internal trafficking is common, not universal


def test_sexual_exploitation_and_forced_labour_dominate(cases):
    counts = Counter(CATEGORIES[k] for k in cases.category.tolist())
    assert (counts["sexual"] + counts["labour"]) / 2000 > 0.75
    assert 0 < counts["both"] / 2000 < 0.1
    assert 0 < counts["other"] / 2000 < 0.15
    labour = cases.labour_sectors[cases.labour_sectors >= 0]
    main = Counter(vocab.LABOUR_SECTORS.codes[int(m & -m).bit_length() - 1].code for m in labour.tolist())
    common = {"domestic_work", "construction", "agriculture", "manufacturing", "hospitality", "aquafarming"}
    assert sum(main[c] for c in common) / len(labour) > 0.7


def test_means_of_control_several_correlated_and_often_not_asked(cases):
    moc = cases.means_of_control
    asked = moc[moc >= 0]
    assert 0.15 < float(np.mean(moc < 0)) < 0.5
    assert np.mean([bin(m).count("1") for m in asked.tolist()]) >= 2
    documents = 1 << vocab.MEANS_OF_CONTROL.index("withholds_documents")
    movement = 1 << vocab.MEANS_OF_CONTROL.index("restricts_movement")
    debt = 1 << vocab.MEANS_OF_CONTROL.index("debt_bondage")
    earnings = 1 << vocab.MEANS_OF_CONTROL.index("takes_earnings")
    with_documents = asked[(asked & documents) > 0]
    assert np.mean((with_documents & movement) > 0) > 2 * np.mean((asked & movement) > 0) * 0.6
    assert np.mean((with_documents & movement) > 0) > np.mean((asked[(asked & documents) == 0] & movement) > 0)
    with_debt = asked[(asked & debt) > 0]
    assert np.mean((with_debt & earnings) > 0) > np.mean((asked[(asked & debt) == 0] & earnings) > 0)


def test_years_spread_over_fifteen_years_more_recent_more(cases):
    years = Counter(cases.year.tolist())
    assert len(years) == 15
    assert years[max(years)] > 2 * years[min(years)]
    assert cases.opened_on.max() <= np.datetime64(cases.parameters.as_of)


def test_research_consent_share_and_withdrawals(cases):
    granted = float(np.mean(cases.research_consent == "granted"))
    assert 0.6 <= granted <= 0.8
    assert 0 < int(np.sum(cases.research_withdrawn_after >= 0)) < 0.2 * 2000
    assert set(cases.research_withdrawn_after[cases.research_consent != "granted"].tolist()) == {-1}


def test_codes_come_from_vocab(cases):
    assert set(cases.gender.tolist()) <= {c.code for c in vocab.GENDERS}
    assert set(cases.status.tolist()) <= {c.code for c in vocab.CASE_STATUSES}
    assert set(cases.data_source.tolist()) <= {c.code for c in vocab.DATA_SOURCES}
    assert set(cases.identification_route.tolist()) - {""} <= {c.code for c in vocab.IDENTIFICATION_ROUTES}
    assert set(cases.recruitment_type.tolist()) - {""} <= {c.code for c in vocab.RECRUITMENT_TYPES}
    countries = set(cases.citizenship.tolist()) | set(cases.country_of_exploitation.tolist())
    assert countries - {""} <= {c.code for c in vocab.COUNTRIES}
    for masks, code_list in (
        (cases.exploitation_types, vocab.EXPLOITATION_TYPES),
        (cases.labour_sectors, vocab.LABOUR_SECTORS),
        (cases.sexual_exploitation_types, vocab.SEXUAL_EXPLOITATION_TYPES),
        (cases.means_of_control, vocab.MEANS_OF_CONTROL),
        (cases.recruiter_relationships, vocab.RECRUITER_RELATIONSHIPS),
    ):
        for mask in set(masks.tolist()) - {-1}:
            assert code_list.codes_of(mask) is not None  # raises on bits outside the list
    for kind, draws in cases.services.items():
        assert kind in vocab.SERVICE_KINDS
        assert set(draws.status.tolist()) - {""} <= {c.code for c in vocab.SERVICE_STATUSES}
    for document_type in set(cases.document_type) - {None}:
        assert document_type in vocab.DOCUMENT_TYPES


def test_dates_of_birth_match_the_age_at_registration(cases):
    checked = 0
    for dob, opened, age in zip(
        cases.date_of_birth.tolist(), cases.opened_on.tolist(), cases.age.tolist(), strict=True
    ):
        if dob is None:
            continue
        assert isinstance(dob, date)
        years = opened.year - dob.year - ((opened.month, opened.day) < (dob.month, dob.day))
        assert years == age
        checked += 1
    assert checked > 1500


def test_names_are_multicultural_with_accents_and_other_scripts(cases):
    names = cases.given_name + cases.family_name
    assert all(names)
    assert any(not n.isascii() and any(ch.isalpha() and ch.isascii() for ch in n) for n in names)  # accented Latin
    assert any(not any(ch.isascii() for ch in n) for n in names)  # another script entirely
    assert len(set(cases.given_name)) > 100


def test_same_seed_same_cases_other_seed_other_cases():
    first, again = generate(500, SyntheticParameters(seed=5)), generate(500, SyntheticParameters(seed=5))
    other = generate(500, SyntheticParameters(seed=6))
    assert first.given_name == again.given_name
    assert first.document_number == again.document_number
    for name in ("gender", "age", "citizenship", "means_of_control", "opened_on", "date_of_birth"):
        assert getattr(first, name).tolist() == getattr(again, name).tolist()
    assert first.given_name != other.given_name


def test_parameters_describe_themselves():
    text = SyntheticParameters(seed=3).describe()
    assert "seed = 3" in text
    assert "exploitation_mix" in text
