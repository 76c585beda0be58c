"""Vectorised samplers for the parts of a synthetic case (numpy Generator, no Python loop per case
except where a string is built)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from casework import vocab
from casework.synthetic.parameters import CATEGORIES, Shares, SyntheticParameters
from casework.synthetic.world import OTHER_REGION, REGION_OF


# -- output -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServiceDraws:
    """One kind of service: arrays over all cases; ``status == ""`` means no such record."""

    kind: str
    status: np.ndarray  # SERVICE_STATUSES code or ""
    start_offset: np.ndarray  # days after the case was opened
    duration: np.ndarray  # days (ended = started + duration, when provided)
    detail: np.ndarray  # a code of the kind's main list (shelter type, permit status, ...) or ""
    mask: np.ndarray  # a bitmask of the kind's multi-valued list (care types, ...), -1 = NULL
    number: np.ndarray  # a kind-specific count (sessions, follow-ups, grant in tens), -1 = NULL


# -- sampling helpers ---------------------------------------------------------------------------
def probabilities(weights: Sequence[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return p / p.sum()


def choice(rng: np.random.Generator, values: Sequence[str], weights: Sequence[float], n: int) -> np.ndarray:
    """n draws of ``values`` with ``weights`` (normalised), as a string array."""
    return np.asarray(values)[rng.choice(len(values), size=n, p=probabilities(weights))]


def rows_categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row, each row with its own probabilities (rows sum to 1)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), probabilities.shape[1] - 1)


def bits(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """Independent Bernoulli draws (n x k) packed into bitmasks (bit j = column j)."""
    hits = rng.random(probabilities.shape) < probabilities
    return (hits.astype(np.int64) << np.arange(probabilities.shape[1], dtype=np.int64)).sum(axis=1)


def bit(code_list: vocab.CodeList, code: str) -> int:
    return 1 << code_list.index(code)


def share(shares: Shares, key: str) -> float:
    return dict(shares)[key]


def by_category(shares: Shares, category: np.ndarray) -> np.ndarray:
    return np.array([share(shares, c) for c in CATEGORIES])[category]


def exploitation_mask(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    codes = vocab.EXPLOITATION_TYPES
    labour, sexual = bit(codes, "forced_labour"), bit(codes, "sexual_exploitation")
    others = ("other_exploitation", "forced_marriage", "slavery_and_practices", "forced_military", "organ_removal")
    other = np.array([bit(codes, c) for c in others])[
        rng.choice(len(others), size=len(category), p=probabilities((0.35, 0.35, 0.2, 0.05, 0.05)))
    ]
    by_category = np.array([sexual, labour, sexual | labour, 0, -1])
    return np.where(category == 3, other, by_category[category]).astype(np.int64)


# Labour sector weights (vocab.LABOUR_SECTORS order) for women and for men.
_SECTORS_FEMALE = (0.10, 0.01, 0.03, 0.02, 0.45, 0.12, 0.02, 0.12, 0.01, 0.03, 0.005, 0.045, 0.02)
_SECTORS_MALE = (0.20, 0.13, 0.03, 0.24, 0.05, 0.06, 0.03, 0.14, 0.05, 0.02, 0.02, 0.02, 0.01)


def labour_sectors(
    rng: np.random.Generator, labour: np.ndarray, female: np.ndarray, params: SyntheticParameters
) -> np.ndarray:
    n = len(labour)
    weights = np.where(female[:, None], probabilities(_SECTORS_FEMALE), probabilities(_SECTORS_MALE))
    first = rows_categorical(rng, weights)
    second = rows_categorical(rng, weights)
    mask = (1 << first) | np.where(rng.random(n) < params.second_labour_sector_share, 1 << second, 0)
    asked = labour & (rng.random(n) >= params.labour_sector_not_asked_share)
    return np.where(asked, mask, -1).astype(np.int64)


def sexual_types(rng: np.random.Generator, sexual: np.ndarray, params: SyntheticParameters) -> np.ndarray:
    n = len(sexual)
    mask = bits(rng, np.tile([0.85, 0.12, 0.06, 0.08], (n, 1)))
    mask = np.where(mask == 0, 1, mask)  # at least prostitution
    asked = sexual & (rng.random(n) >= params.sexual_type_not_asked_share)
    return np.where(asked, mask, -1).astype(np.int64)


# Means of control: latent patterns switch groups of codes on together (vocab.MEANS_OF_CONTROL order:
# debt, earnings, finances, threats, psychological, physical, sexual, false promises, substances,
# movement, medical, hours, children, law enforcement, necessities, documents, other, not specified).
_CONTROL_BASE = np.array(
    [0.03, 0.03, 0.02, 0.05, 0.05, 0.03, 0.02, 0.05, 0.02, 0.03, 0.02, 0.03, 0.01, 0.02, 0.02, 0.03, 0.04, 0.0]
)  # noqa: E501
_CONTROL_PATTERNS = {
    "debt": {0: 0.75, 1: 0.70, 2: 0.35, 11: 0.45, 7: 0.30},
    "confinement": {15: 0.70, 9: 0.80, 13: 0.30, 14: 0.30, 10: 0.20},
    "violence": {3: 0.75, 5: 0.60, 4: 0.70, 6: 0.35, 8: 0.20},
    "deception": {7: 0.80, 4: 0.30},
}
# P(pattern active) by category (sexual, labour, both, other, unknown)
_PATTERN_ACTIVATION = {
    "debt": (0.35, 0.55, 0.50, 0.20, 0.30),
    "confinement": (0.45, 0.50, 0.55, 0.35, 0.40),
    "violence": (0.60, 0.30, 0.55, 0.40, 0.40),
    "deception": (0.50, 0.45, 0.50, 0.30, 0.40),
}


def means_of_control(rng: np.random.Generator, category: np.ndarray, params: SyntheticParameters) -> np.ndarray:
    n = len(category)
    keep = np.ones((n, len(_CONTROL_BASE))) * (1 - _CONTROL_BASE)
    for name, loadings in _CONTROL_PATTERNS.items():
        active = rng.random(n) < np.asarray(_PATTERN_ACTIVATION[name])[category]
        for code, p in loadings.items():
            keep[:, code] *= np.where(active, 1 - p, 1.0)
    mask = bits(rng, 1 - keep)
    # Explicit pairings seen in case files: withheld documents -> restricted movement, debt -> earnings.
    documents, movement, debt, earnings = 1 << 15, 1 << 9, 1 << 0, 1 << 1
    mask |= np.where((mask & documents > 0) & (rng.random(n) < 0.75), movement, 0)
    mask |= np.where((mask & debt > 0) & (rng.random(n) < 0.70), earnings, 0)
    mask = np.where((mask == 0) & (rng.random(n) < 0.5), 1 << 17, mask)  # asked, nothing specific
    return np.where(rng.random(n) < params.means_of_control_not_asked_share, -1, mask).astype(np.int64)


def recruitment(
    rng: np.random.Generator, category: np.ndarray, minor: np.ndarray, params: SyntheticParameters
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(category)
    types = (
        "job_offer",
        "marriage_or_relationship_offer",
        "education_offer",
        "migration_or_travel_offer",
        "abduction",
        "sold_by_family",
        "other",
        "unknown",
    )  # noqa: E501
    weights = np.array(
        [
            (0.30, 0.22, 0.04, 0.10, 0.05, 0.05, 0.06, 0.18),  # sexual
            (0.60, 0.03, 0.03, 0.12, 0.03, 0.03, 0.04, 0.12),  # labour
            (0.45, 0.12, 0.03, 0.12, 0.04, 0.04, 0.05, 0.15),  # both
            (0.10, 0.35, 0.02, 0.05, 0.10, 0.15, 0.08, 0.15),  # other (forced marriage...)
            (0.25, 0.10, 0.03, 0.10, 0.05, 0.05, 0.07, 0.35),  # unknown
        ]
    )
    recruitment = np.asarray(types)[rows_categorical(rng, weights[category])]
    recruitment = np.where(rng.random(n) < params.recruitment_not_asked_share, "", recruitment)
    abducted = np.where(
        recruitment == "abduction", 1, np.where(recruitment == "", -1, (rng.random(n) < 0.01).astype(int))
    )  # noqa: E501
    # recruiter relationship: intimate partner, friend, family, other, unknown (vocab order)
    rel_weights = np.where(
        minor[:, None],
        probabilities((0.08, 0.20, 0.40, 0.20, 0.12)),
        np.where(
            (category == 0)[:, None],
            probabilities((0.25, 0.30, 0.10, 0.20, 0.15)),
            probabilities((0.05, 0.35, 0.12, 0.33, 0.15)),
        ),  # noqa: E501
    )
    recruiter = (1 << rows_categorical(rng, rel_weights)).astype(np.int64)
    recruiter |= np.where(rng.random(n) < 0.05, 1 << 1, 0)  # sometimes a friend as well
    recruiter = np.where(recruiter & (1 << 4) > 0, 1 << 4, recruiter)  # "unknown" stands alone
    recruiter = np.where(rng.random(n) < params.recruiter_not_asked_share, -1, recruiter)
    return recruitment, recruiter, abducted.astype(np.int8)


def transit(rng: np.random.Generator, citizenship: np.ndarray, abroad: np.ndarray) -> np.ndarray:
    n = len(citizenship)
    transit = np.full(n, "", dtype="<U2")
    chosen = np.flatnonzero(abroad & (rng.random(n) < 0.2))
    picks = rng.random(len(chosen))
    for i, u in zip(chosen.tolist(), picks.tolist(), strict=True):
        region = REGION_OF.get(str(citizenship[i]), OTHER_REGION)
        neighbours = [m for m in region.members if m != citizenship[i]] or list(region.hubs)
        transit[i] = neighbours[int(u * len(neighbours))]
    return transit


def identification_route(
    rng: np.random.Generator, hotline: np.ndarray, labour: np.ndarray, params: SyntheticParameters
) -> np.ndarray:
    n = len(hotline)
    routes = [c.code for c in vocab.IDENTIFICATION_ROUTES]
    base = dict.fromkeys(routes, 0.0) | {
        "self_referral": 0.12,
        "law_enforcement": 0.28,
        "labour_inspection": 0.02,
        "ngo": 0.20,
        "iom_or_un": 0.10,
        "hotline": 0.03,
        "embassy_or_consulate": 0.05,
        "health_or_social_services": 0.05,
        "community_or_family": 0.07,
        "other": 0.03,
        "unknown": 0.05,
    }
    inspection = base | {"labour_inspection": 0.15}
    weights = np.where(labour[:, None], probabilities(list(inspection.values())), probabilities(list(base.values())))
    route = np.asarray(routes)[rows_categorical(rng, weights)]
    route = np.where(hotline, "hotline", route)
    return np.where(rng.random(n) < params.identification_route_missing_share, "", route)


def consents(rng: np.random.Generator, age: np.ndarray, params: SyntheticParameters) -> dict[str, np.ndarray]:
    n = len(age)
    minor = (age >= 0) & (age < 18)
    assistance = np.where(rng.random(n) < params.assistance_consent_refused_share, "refused", "granted")
    u = rng.random(n)
    research = np.where(
        u < params.research_consent_granted_share,
        "granted",
        np.where(u < params.research_consent_granted_share + params.research_consent_refused_share, "refused", ""),
    )
    withdrawn = (research == "granted") & (rng.random(n) < params.research_consent_withdrawn_share)
    withdrawn_after = np.where(withdrawn, 30 + rng.integers(0, 700, n), -1)
    method = np.where(minor, "guardian", choice(rng, ("written", "verbal", "electronic"), (0.75, 0.2, 0.05), n))
    given_by = np.where(minor, "guardian", "victim")
    return {
        "assistance_consent": assistance,
        "research_consent": research,
        "research_withdrawn_after": withdrawn_after,
        "consent_method": method,
        "consent_given_by": given_by,
        "consent_offset": rng.integers(0, 10, n),
    }


# Per kind: (main list and its weights, multi-valued list and its per-code probabilities)
_SERVICE_DETAILS: dict[
    str, tuple[tuple[vocab.CodeList, Sequence[float]] | None, tuple[vocab.CodeList, Sequence[float]] | None]
] = {  # noqa: E501
    "shelter": ((vocab.SHELTER_TYPES, (0.40, 0.25, 0.10, 0.10, 0.05, 0.05, 0.05)), None),
    "legal": (
        (vocab.PERMIT_STATUSES, (0.15, 0.15, 0.20, 0.25, 0.05, 0.05, 0.15)),
        (vocab.LEGAL_SERVICE_TYPES, (0.8, 0.3, 0.3, 0.2, 0.15, 0.2, 0.05)),
    ),
    "medical": (None, (vocab.MEDICAL_CARE_TYPES, (0.8, 0.15, 0.35, 0.25, 0.15, 0.1, 0.3, 0.05))),
    "psychosocial": (None, (vocab.PSYCHOSOCIAL_SUPPORT_TYPES, (0.8, 0.25, 0.05, 0.15, 0.1, 0.15, 0.05))),
    "return": ((vocab.RETURN_DOCUMENTS_STATUSES, (0.3, 0.3, 0.35, 0.05)), None),
    "reintegration": (None, (vocab.REINTEGRATION_COMPONENTS, (0.2, 0.35, 0.4, 0.25, 0.2, 0.3, 0.2, 0.3, 0.1, 0.05))),
}
# Service status weights (needed, referred, in_progress, provided, declined) by case status.
_SERVICE_STATUS = {
    "open": (0.45, 0.25, 0.25, 0.0, 0.05),
    "in_assistance": (0.15, 0.15, 0.45, 0.22, 0.03),
    "closed": (0.0, 0.05, 0.0, 0.83, 0.12),
}


def services(
    rng: np.random.Generator,
    case_status: np.ndarray,
    abroad: np.ndarray,
    days_open: np.ndarray,
    params: SyntheticParameters,
) -> dict[str, ServiceDraws]:
    n = len(case_status)
    statuses = np.asarray([c.code for c in vocab.SERVICE_STATUSES])
    status_weights = np.array([_SERVICE_STATUS[str(s)] for s in ("open", "in_assistance", "closed")])
    status_row = np.select([case_status == "open", case_status == "in_assistance"], [0, 1], 2)
    result: dict[str, ServiceDraws] = {}
    for kind, share in params.service_shares:
        eligible = abroad if kind == "return" else np.ones(n, dtype=bool)
        present = eligible & (rng.random(n) < share)
        status = np.where(present, statuses[rows_categorical(rng, status_weights[status_row])], "")
        start_offset = np.minimum((rng.exponential(20, n)).astype(int), days_open)
        duration = (7 + rng.gamma(1.5, 60, n)).astype(int)
        main, multi = _SERVICE_DETAILS[kind]
        if main is not None:
            codes, weights = main
            detail = choice(rng, [c.code for c in codes], weights, n)
        else:
            detail = np.full(n, "")
        if multi is not None:
            codes, probabilities = multi
            mask = bits(rng, np.tile(probabilities, (n, 1)))
            mask = np.where(mask == 0, 1, mask)
        else:
            mask = np.full(n, -1, dtype=np.int64)
        if kind == "psychosocial":
            number = rng.integers(4, 16, n)
        elif kind == "reintegration":
            number = rng.integers(0, 4, n)  # follow-up visits
        elif kind == "return":
            number = rng.integers(0, 3, n)  # risk level index
        else:
            number = np.full(n, -1)
        result[kind] = ServiceDraws(kind, status, start_offset, duration, detail, mask, number)
    return result
