"""An in-memory generator of realistic, skewed case data for the export benchmark.

Shapes follow the contract's "Realistic synthetic data" section (shared/ctdc/README.md). Every
parameter is in :class:`SyntheticParameters`, so a benchmark can state what it ran on. Output is
the *raw columns* form of casework.exports.ctdc (NULL = -1 for numbers and bitmasks, "" for
codes), i.e. exactly what the database reader yields, plus a research-consent column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from casework import vocab

EXPLOIT = vocab.EXPLOITATION_TYPES
MOC = vocab.MEANS_OF_CONTROL
LABOUR = vocab.LABOUR_SECTORS
SEX = vocab.SEXUAL_EXPLOITATION_TYPES
RECRUITER = vocab.RECRUITER_RELATIONSHIPS


@dataclass(frozen=True)
class SyntheticParameters:
    countries: int = 150  # citizenships in use
    citizenship_zipf: float = 1.3  # Zipf exponent over citizenships
    unknown_citizenship: float = 0.02  # "00"
    missing_citizenship: float = 0.03  # NULL
    hub_share: float = 0.8  # exploited in one of the citizenship's 3 neighbours/hubs
    domestic_share: float = 0.1  # exploited in the country of citizenship
    female_share: float = 0.71
    trans_share: float = 0.01
    unknown_gender: float = 0.01
    missing_gender: float = 0.01
    minor_share: float = 0.22
    missing_age: float = 0.03
    first_year: int = 2010
    years: int = 15
    hotline_share: float = 0.1
    sexual_share: float = 0.5  # of women; men mostly forced labour
    both_share: float = 0.04
    other_share: float = 0.05
    missing_exploitation: float = 0.03
    moc_not_asked: float = 0.35
    labour_not_asked: float = 0.2
    sex_not_asked: float = 0.25
    recruiter_not_asked: float = 0.5
    abduction_not_asked: float = 0.4
    exploit_age_not_asked: float = 0.5
    recruit_age_not_asked: float = 0.6
    research_consent: float = 0.7
    consent_withdrawn: float = 0.05  # of those with consent


# Correlated means of control: clusters that come together, by CTDC column suffix.
MOC_CLUSTERS = (
    (("WithholdsDocuments", "RestrictsMovement"), 0.45),
    (("DebtBondage", "TakesEarnings"), 0.35),
    (("Threats", "PsychologicalAbuse"), 0.4),
    (("PhysicalAbuse",), 0.2),
    (("FalsePromises",), 0.3),
    (("ExcessiveWorkingHours", "WithholdsNecessities"), 0.15),
    (("SexualAbuse",), 0.1),
)
LABOUR_WEIGHTS = {
    "DomesticWork": 0.3, "Construction": 0.2, "Agriculture": 0.15, "Manufacturing": 0.12, "Hospitality": 0.08,
    "Aquafarming": 0.06, "Begging": 0.02, "IllicitActivities": 0.02, "MiningOrDrilling": 0.01, "Peddling": 0.01,
    "Transportation": 0.01, "Other": 0.01, "NotSpecified": 0.01,
}  # fmt: skip
SEX_WEIGHTS = {
    "Prostitution": 0.82,
    "Pornography": 0.07,
    "RemoteInteractiveServices": 0.05,
    "PrivateSexualServices": 0.06,
}
RECRUITER_WEIGHTS = {"IntimatePartner": 0.2, "Friend": 0.35, "Family": 0.15, "Other": 0.2, "Unknown": 0.1}


def _bit(code_list: vocab.CodeList, ctdc: str) -> int:
    return 1 << next(i for i, c in enumerate(code_list) if c.ctdc == ctdc)


def _choice_bits(rng: np.random.Generator, code_list: vocab.CodeList, weights: dict[str, float], n: int) -> np.ndarray:
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    picked = rng.choice(len(names), size=n, p=p / p.sum())
    bits = np.array([_bit(code_list, name) for name in names], dtype=np.int64)
    return bits[picked]


def generate(n: int, seed: int = 1, params: SyntheticParameters | None = None) -> dict[str, np.ndarray]:
    """``n`` synthetic cases as raw columns, plus ``consent`` (1 active, 0 none, 2 withdrawn)."""
    p = params or SyntheticParameters()
    rng = np.random.default_rng(seed)
    countries = np.array([c.code for c in vocab.COUNTRIES if c.code != vocab.UNKNOWN_COUNTRY])
    countries = countries[rng.permutation(countries.size)[: p.countries]]
    zipf = 1.0 / np.arange(1, p.countries + 1) ** p.citizenship_zipf
    citizen_idx = rng.choice(p.countries, size=n, p=zipf / zipf.sum())
    citizenship = countries[citizen_idx].astype("U2")

    # Each citizenship has three hubs (neighbours or regional destinations), fixed per run.
    hubs = rng.choice(p.countries, size=(p.countries, 3), p=zipf / zipf.sum())
    hub_pick = rng.choice(3, size=n, p=[0.6, 0.28, 0.12])
    where = rng.random(n)
    destination = np.where(
        where < p.domestic_share,
        citizen_idx,
        np.where(where < p.domestic_share + p.hub_share, hubs[citizen_idx, hub_pick], rng.choice(p.countries, size=n)),
    )
    exploitation_country = countries[destination].astype("U2")
    u = rng.random(n)
    citizenship[u < p.unknown_citizenship] = "00"
    citizenship[(u >= p.unknown_citizenship) & (u < p.unknown_citizenship + p.missing_citizenship)] = ""
    exploitation_country[rng.random(n) < 0.03] = ""

    g = rng.random(n)
    gender = np.where(g < p.female_share, "female", "male").astype("U30")
    cut = p.female_share
    for value, share in (
        ("transgender_nonconforming", p.trans_share),
        ("unknown", p.unknown_gender),
        ("", p.missing_gender),
    ):  # noqa: E501
        gender[(g >= cut) & (g < cut + share)] = value
        cut += share
    female = gender == "female"

    minor = rng.random(n) < p.minor_share
    age = np.where(minor, rng.integers(9, 18, size=n), np.clip(rng.gamma(4.0, 2.5, size=n) + 18, 18, 70)).astype(
        np.int64
    )
    age[minor & (rng.random(n) < 0.08)] = rng.integers(3, 9)
    age[rng.random(n) < p.missing_age] = -1

    weights = np.linspace(1.0, 3.0, p.years)
    year = p.first_year + rng.choice(p.years, size=n, p=weights / weights.sum())
    data_source = np.where(rng.random(n) < p.hotline_share, "hotline", "case_management")

    # Exploitation: women mostly sexual exploitation, men mostly forced labour.
    e = rng.random(n)
    sexual_p = np.where(female, p.sexual_share + 0.2, 0.12)
    both = e < p.both_share
    other = (e >= p.both_share) & (e < p.both_share + p.other_share)
    rest = ~(both | other)
    r = rng.random(n)
    sexual = rest & (r < sexual_p)
    labour = rest & ~sexual
    fl, se = _bit(EXPLOIT, "ForcedLabour"), _bit(EXPLOIT, "SexualExploit")
    other_bits = np.array(
        [
            _bit(EXPLOIT, c)
            for c in ("OtherExploit", "ForcedMarriage", "ForcedMilitary", "OrganRemoval", "SlaveryAndPractices")
        ]  # noqa: E501
    )
    exploitation = np.where(both, fl | se, np.where(sexual, se, np.where(labour, fl, 0))).astype(np.int64)
    exploitation[other] = other_bits[rng.choice(5, size=int(other.sum()), p=[0.3, 0.4, 0.1, 0.05, 0.15])]
    exploitation[rng.random(n) < p.missing_exploitation] = -1
    has_labour = (exploitation > 0) & ((exploitation & fl) > 0)
    has_sex = (exploitation > 0) & ((exploitation & se) > 0)

    labour_sectors = np.full(n, -1, dtype=np.int64)
    sectors = _choice_bits(rng, LABOUR, LABOUR_WEIGHTS, n)
    second = _choice_bits(rng, LABOUR, LABOUR_WEIGHTS, n)
    sectors = np.where(rng.random(n) < 0.1, sectors | second, sectors)
    asked = has_labour & (rng.random(n) >= p.labour_not_asked)
    labour_sectors[asked] = sectors[asked]

    sex_types = np.full(n, -1, dtype=np.int64)
    kinds = _choice_bits(rng, SEX, SEX_WEIGHTS, n)
    asked = has_sex & (rng.random(n) >= p.sex_not_asked)
    sex_types[asked] = kinds[asked]

    moc = np.zeros(n, dtype=np.int64)
    for names, share in MOC_CLUSTERS:
        bits = sum(_bit(MOC, name) for name in names)
        moc |= np.where(rng.random(n) < share, bits, 0)
    moc |= np.where(has_labour & (rng.random(n) < 0.3), _bit(MOC, "ExcessiveWorkingHours"), 0)
    moc |= np.where(has_sex & (rng.random(n) < 0.25), _bit(MOC, "SexualAbuse"), 0)
    moc |= np.where(rng.random(n) < 0.03, _bit(MOC, "Other"), 0)
    moc[moc == 0] = _bit(MOC, "NotSpecified")
    moc[rng.random(n) < p.moc_not_asked] = -1

    recruiter = _choice_bits(rng, RECRUITER, RECRUITER_WEIGHTS, n)
    recruiter[rng.random(n) < p.recruiter_not_asked] = -1

    abducted = (rng.random(n) < 0.06).astype(np.int64)
    abducted[rng.random(n) < p.abduction_not_asked] = -1

    exploit_age = np.where(age >= 0, np.maximum(age - rng.integers(0, 4, size=n), 0), -1)
    exploit_age[rng.random(n) < p.exploit_age_not_asked] = -1
    recruit_age = np.where(exploit_age >= 0, np.maximum(exploit_age - rng.integers(0, 2, size=n), 0), -1)
    recruit_age[rng.random(n) < p.recruit_age_not_asked] = -1

    c = rng.random(n)
    consent = np.where(c < p.research_consent, 1, 0)
    consent[(consent == 1) & (rng.random(n) < p.consent_withdrawn)] = 2

    return {
        "year_of_registration": year.astype(np.int64),
        "data_source": data_source.astype("U20"),
        "gender": gender,
        "age_at_registration": age,
        "citizenship": citizenship,
        "country_of_exploitation": exploitation_country,
        "age_at_exploitation_start": exploit_age.astype(np.int64),
        "age_at_recruitment": recruit_age.astype(np.int64),
        "means_of_control": moc,
        "exploitation_types": exploitation,
        "labour_sectors": labour_sectors,
        "sexual_exploitation_types": sex_types,
        "recruiter_relationships": recruiter,
        "abducted": abducted,
        "consent": consent.astype(np.int64),
    }


def describe(params: SyntheticParameters | None = None) -> dict[str, object]:
    return asdict(params or SyntheticParameters())
