"""Realistic synthetic cases, for the demo seed and for benchmarks.

Anonymisation loss and query speed depend on how skewed the data is: uniform random data
makes every row unique. Real case data is heavily skewed, so this generator follows the
shapes in ``shared/ctdc/README.md`` ("Realistic synthetic data"):

- citizenships Zipf-like over ~150 countries; exploitation mostly at home, in a neighbour or
  in a regional or global hub of the citizenship's region;
- about 70% women and girls (more in sexual exploitation, fewer in forced labour); most
  people 18-38, a sizeable minority of minors;
- sexual exploitation and forced labour dominate; labour sectors concentrated and gendered;
- several correlated means of control per case (a latent "pattern" model: debt bondage with
  withheld earnings, withheld documents with restricted movement, ...), many NULL = not asked;
- registrations over 15 years, more in recent years; ~70% research consent, some withdrawn.

Every knob is a field of :class:`SyntheticParameters` (``parameters.py``; benchmarks print
it); the geography and the name pools are the fixed "world model" (``world.py``). Sampling is vectorised with a seeded
``numpy.random.Generator``: the same parameters give the same cases. Only codes from
``casework.vocab`` are produced. The package touches no database and no key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from casework import vocab
from casework.synthetic import draws, people
from casework.synthetic.draws import ServiceDraws
from casework.synthetic.parameters import CATEGORIES, DEFAULT_PARAMETERS, Shares, SyntheticParameters
from casework.synthetic.world import (
    NARRATIVE_TEMPLATE,
    NOTE_TEMPLATES,
    ORIGIN_RANKING,
    OTHER_REGION,
    REGION_OF,
    REGIONS,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_PARAMETERS",
    "NARRATIVE_TEMPLATE",
    "NOTE_TEMPLATES",
    "REGIONS",
    "ServiceDraws",
    "Shares",
    "SyntheticCases",
    "SyntheticParameters",
    "citizenship_ranking",
    "destination_matrix",
    "generate",
]


@dataclass(frozen=True, slots=True)
class SyntheticCases:
    """Generated cases as parallel arrays (index i = case i, in registration order).

    NULL conventions: ``""`` for codes, ``-1`` for numbers and bitmasks, ``NaT`` for dates,
    ``None`` in the identity lists.
    """

    parameters: SyntheticParameters
    opened_on: np.ndarray
    year: np.ndarray
    status: np.ndarray
    closed_on: np.ndarray
    data_source: np.ndarray
    identification_route: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    citizenship: np.ndarray
    country_of_exploitation: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    exploitation_types: np.ndarray
    labour_sectors: np.ndarray
    sexual_exploitation_types: np.ndarray
    means_of_control: np.ndarray
    recruitment_type: np.ndarray
    recruiter_relationships: np.ndarray
    abducted: np.ndarray  # 1, 0, -1
    age_at_exploitation_start: np.ndarray
    exploitation_began_on: np.ndarray
    exploitation_ended_on: np.ndarray
    transit_country: np.ndarray
    has_narrative: np.ndarray
    # identity (strings to be encrypted)
    given_name: list[str]
    family_name: list[str]
    aliases: list[str | None]
    date_of_birth: np.ndarray
    place_of_birth: list[str | None]
    phone: list[str | None]
    email: list[str | None]
    address: list[str | None]
    languages: list[str | None]
    document_type: list[str | None]
    document_number: list[str | None]
    document_country: list[str | None]
    # consents
    assistance_consent: np.ndarray  # granted | refused
    research_consent: np.ndarray  # granted | refused | ""
    research_withdrawn_after: np.ndarray  # days after granting, -1 = not withdrawn
    consent_method: np.ndarray
    consent_given_by: np.ndarray
    consent_offset: np.ndarray  # days after opening
    # services, notes, referrals
    services: dict[str, ServiceDraws]
    note_case: np.ndarray
    note_offset: np.ndarray
    note_template: np.ndarray
    note_shareable: np.ndarray
    referred: np.ndarray
    referral_status: np.ndarray
    referral_kind: np.ndarray

    @property
    def n(self) -> int:
        return len(self.opened_on)


# -- the generator ------------------------------------------------------------------------------
def citizenship_ranking(params: SyntheticParameters = DEFAULT_PARAMETERS) -> list[str]:
    """The citizenships in rank order (most frequent first)."""
    known = {c.code for c in vocab.COUNTRIES} - {vocab.UNKNOWN_COUNTRY}
    ranking = [c for c in ORIGIN_RANKING if c in known]
    ranking += sorted(known - set(ranking))
    return ranking[: params.n_citizenships]


def destination_matrix(citizenships: list[str], params: SyntheticParameters) -> tuple[list[str], np.ndarray]:
    """(destinations, P): P[i, j] = probability that a citizen of citizenships[i] is exploited
    in destinations[j]: at home, in a hub of the region (Zipf over the hub list) or in a
    neighbour (another member of the region)."""
    destinations = sorted(set(citizenships) | {h for r in REGIONS for h in r.hubs})
    column = {code: j for j, code in enumerate(destinations)}
    matrix = np.zeros((len(citizenships), len(destinations)))
    for i, citizenship in enumerate(citizenships):
        region = REGION_OF.get(citizenship, OTHER_REGION)
        hubs = [h for h in region.hubs if h != citizenship]
        neighbours = [m for m in region.members if m != citizenship and m in column]
        own = region.own_share
        neighbour = params.neighbour_share if neighbours else 0.0
        matrix[i, column[citizenship]] += own
        hub_weights = 1.0 / np.arange(1, len(hubs) + 1) ** params.hub_zipf_exponent
        hub_weights *= (1.0 - own - neighbour) / hub_weights.sum()
        for hub, weight in zip(hubs, hub_weights, strict=True):
            matrix[i, column[hub]] += weight
        for member in neighbours:
            matrix[i, column[member]] += neighbour / len(neighbours)
    return destinations, matrix / matrix.sum(axis=1, keepdims=True)


def generate(n: int, params: SyntheticParameters = DEFAULT_PARAMETERS) -> SyntheticCases:
    """Generate ``n`` cases, sorted by registration date. Same parameters, same cases."""
    rng = np.random.default_rng(params.seed)

    # -- registration dates, status, source --------------------------------------------------
    years = np.arange(params.first_year, params.last_year + 1)
    year = np.sort(rng.choice(years, size=n, p=draws.probabilities(params.yearly_growth ** (years - years[0]))))
    year_start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    year_end = np.minimum(
        (year - 1969).astype("datetime64[Y]").astype("datetime64[D]"), np.datetime64(params.as_of, "D") + 1
    )
    opened_on = np.sort(year_start + (rng.random(n) * (year_end - year_start).astype(int)).astype("timedelta64[D]"))
    as_of = np.datetime64(params.as_of, "D")
    days_open = (as_of - opened_on).astype(int)
    p_closed = np.clip(0.05 + 0.16 * days_open / 365.0, 0.0, 0.93)
    status = np.where(rng.random(n) < p_closed, "closed", np.where(rng.random(n) < 0.6, "in_assistance", "open"))
    close_after = np.minimum(14 + rng.exponential(240, n).astype(int), days_open)
    closed_on = np.where(status == "closed", opened_on + close_after.astype("timedelta64[D]"), np.datetime64("NaT"))
    hotline = rng.random(n) < params.hotline_share
    data_source = np.where(hotline, "hotline", "case_management")

    # -- citizenship, exploitation country ---------------------------------------------------
    ranking = citizenship_ranking(params)
    zipf = 1.0 / np.arange(1, len(ranking) + 1) ** params.citizenship_zipf_exponent
    citizenship_index = rng.choice(len(ranking), size=n, p=draws.probabilities(zipf))
    destinations, matrix = destination_matrix(ranking, params)
    destination_index = np.empty(n, dtype=np.int64)
    for k in np.unique(citizenship_index).tolist():  # one vectorised draw per citizenship
        members = np.flatnonzero(citizenship_index == k)
        destination_index[members] = rng.choice(len(destinations), size=len(members), p=matrix[k])
    citizenship = np.asarray(ranking)[citizenship_index]
    country = np.asarray(destinations)[destination_index]
    u = rng.random(n)
    country = np.where(u < params.exploitation_country_missing_share, "", country)
    unknown_cut = params.exploitation_country_missing_share + params.exploitation_country_unknown_share
    country = np.where(
        (u >= params.exploitation_country_missing_share) & (u < unknown_cut), vocab.UNKNOWN_COUNTRY, country
    )
    citizenship_recorded = np.where(rng.random(n) < params.citizenship_missing_share, "", citizenship)

    # -- exploitation category, tilted per citizenship ----------------------------------------
    mix = np.array([draws.share(params.exploitation_mix, c) for c in CATEGORIES])
    mix = mix / mix.sum()
    labour_share = mix[1] / (mix[0] + mix[1])
    k = params.labour_tilt_concentration
    tilt = rng.beta(labour_share * k, (1 - labour_share) * k, size=len(ranking))[citizenship_index]
    rows = np.tile(mix, (n, 1))
    rows[:, 0] = (mix[0] + mix[1]) * (1 - tilt)
    rows[:, 1] = (mix[0] + mix[1]) * tilt
    category = draws.rows_categorical(rng, rows)
    sexual = (category == 0) | (category == 2)
    labour = (category == 1) | (category == 2)

    # -- gender, age ---------------------------------------------------------------------------
    u = rng.random(n)
    female = u < draws.by_category(params.female_share, category)
    gender = np.where(female, "female", "male")
    other_gender = rng.random(n)
    gender = np.where(other_gender < params.transgender_share, "transgender_nonconforming", gender)
    gender = np.where(
        (other_gender >= params.transgender_share)
        & (other_gender < params.transgender_share + params.gender_unknown_share),
        "unknown",
        gender,
    )
    minor = rng.random(n) < draws.by_category(params.minor_share, category)
    minor_age = rng.choice(
        18, size=n, p=draws.probabilities([1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 9, 12, 15, 18, 20, 20])
    )
    adult_age = 18 + rng.gamma(params.adult_age_gamma_shape, params.adult_age_gamma_scale, n).astype(int)
    age = np.where(minor, minor_age, np.minimum(adult_age, 80)).astype(np.int16)
    age = np.where(rng.random(n) < params.age_missing_share, -1, age).astype(np.int16)

    # -- exploitation details -----------------------------------------------------------------
    exploitation_types = draws.exploitation_mask(rng, category)
    labour_sectors = draws.labour_sectors(rng, labour, female, params)
    sexual_types = draws.sexual_types(rng, sexual, params)
    means_of_control = draws.means_of_control(rng, category, params)
    recruitment_type, recruiter, abducted = draws.recruitment(rng, category, minor, params)

    known_dates = rng.random(n) >= params.exploitation_dates_unknown_share
    lag = rng.exponential(45, n).astype(int)
    duration = (30 + rng.gamma(1.5, 240, n)).astype(int)
    ongoing = rng.random(n) < 0.1
    ended = np.where(known_dates & ~ongoing, opened_on - lag.astype("timedelta64[D]"), np.datetime64("NaT"))
    began = np.where(known_dates, opened_on - (lag + duration).astype("timedelta64[D]"), np.datetime64("NaT"))
    years_exploited = np.where(known_dates, (lag + duration) // 365, rng.integers(0, 3, n))
    age_at_start = np.where(age >= 0, np.maximum(age - years_exploited, 0), -1).astype(np.int16)
    abroad = (country != citizenship) & (country != "") & (country != vocab.UNKNOWN_COUNTRY)
    transit = draws.transit(rng, citizenship, abroad)

    route = draws.identification_route(rng, hotline, labour, params)
    identity = people.identities(rng, citizenship, gender, age, opened_on, params)
    consents = draws.consents(rng, age, params)
    services = draws.services(rng, status, abroad, days_open, params)
    note_count = rng.poisson(params.notes_per_case, n)
    note_case = np.repeat(np.arange(n), note_count)
    note_offset = (rng.random(len(note_case)) * np.maximum(days_open[note_case], 1)).astype(int)
    # Referrals to the partner: cases still being assisted, whose person accepted assistance.
    referable = (status != "closed") & (consents["assistance_consent"] == "granted")
    referred = referable & (rng.random(n) < params.referral_share)
    referral_status = draws.choice(rng, ("accepted", "pending", "completed"), (0.7, 0.2, 0.1), n)
    referral_kind = draws.choice(rng, ("shelter", "psychosocial", "medical", "legal"), (0.4, 0.3, 0.2, 0.1), n)

    return SyntheticCases(
        parameters=params,
        opened_on=opened_on,
        year=year,
        status=status,
        closed_on=closed_on,
        data_source=data_source,
        identification_route=route,
        gender=gender,
        age=age,
        citizenship=citizenship_recorded,
        country_of_exploitation=country,
        category=category,
        exploitation_types=exploitation_types,
        labour_sectors=labour_sectors,
        sexual_exploitation_types=sexual_types,
        means_of_control=means_of_control,
        recruitment_type=recruitment_type,
        recruiter_relationships=recruiter,
        abducted=abducted,
        age_at_exploitation_start=age_at_start,
        exploitation_began_on=began,
        exploitation_ended_on=ended,
        transit_country=transit,
        has_narrative=rng.random(n) < params.narrative_share,
        services=services,
        note_case=note_case,
        note_offset=note_offset,
        note_template=rng.integers(0, len(NOTE_TEMPLATES), len(note_case)),
        note_shareable=rng.random(len(note_case)) < params.shareable_note_share,
        referred=referred,
        referral_status=referral_status,
        referral_kind=referral_kind,
        **identity,
        **consents,
    )
