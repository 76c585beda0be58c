"""Every tunable figure of the synthetic-case generator, in one place (benchmarks print it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

# -- parameters ---------------------------------------------------------------------------------
Shares = tuple[tuple[str, float], ...]

#: Exploitation categories: each case falls in exactly one (``unknown`` = not recorded).
CATEGORIES = ("sexual", "labour", "both", "other", "unknown")


@dataclass(frozen=True, slots=True)
class SyntheticParameters:
    """Every tunable figure of the generator, with the defaults the demo and benchmarks use."""

    seed: int = 20261121
    first_year: int = 2012
    last_year: int = 2026
    as_of: date = date(2026, 11, 1)  # no generated date is later
    yearly_growth: float = 1.12  # registrations grow by this factor a year
    n_citizenships: int = 150
    citizenship_zipf_exponent: float = 1.1
    hub_zipf_exponent: float = 1.8  # concentration among a region's destination hubs
    neighbour_share: float = 0.05  # exploited in another country of the same region
    citizenship_missing_share: float = 0.02
    exploitation_country_missing_share: float = 0.03
    exploitation_country_unknown_share: float = 0.02
    exploitation_mix: Shares = (("sexual", 0.47), ("labour", 0.38), ("both", 0.04), ("other", 0.07), ("unknown", 0.04))
    # Per-citizenship tilt towards labour (Beta-distributed around the mix): origin countries differ.
    labour_tilt_concentration: float = 6.0
    female_share: Shares = (("sexual", 0.93), ("labour", 0.42), ("both", 0.80), ("other", 0.88), ("unknown", 0.70))
    transgender_share: float = 0.008
    gender_unknown_share: float = 0.01
    minor_share: Shares = (("sexual", 0.24), ("labour", 0.14), ("both", 0.20), ("other", 0.35), ("unknown", 0.20))
    adult_age_gamma_shape: float = 2.0
    adult_age_gamma_scale: float = 6.5  # 18 + Gamma: median ~29, ~80% of adults under 39
    age_missing_share: float = 0.03
    date_of_birth_missing_share: float = 0.15
    hotline_share: float = 0.12
    identification_route_missing_share: float = 0.05
    means_of_control_not_asked_share: float = 0.30
    labour_sector_not_asked_share: float = 0.10
    second_labour_sector_share: float = 0.08
    sexual_type_not_asked_share: float = 0.25
    recruitment_not_asked_share: float = 0.20
    recruiter_not_asked_share: float = 0.35
    exploitation_dates_unknown_share: float = 0.30
    native_script_share: float = 0.15  # names recorded in their own script, not transliterated
    assistance_consent_refused_share: float = 0.03
    research_consent_granted_share: float = 0.70
    research_consent_refused_share: float = 0.10
    research_consent_withdrawn_share: float = 0.07  # of those granted
    service_shares: Shares = (
        ("shelter", 0.40),
        ("legal", 0.30),
        ("medical", 0.50),
        ("psychosocial", 0.45),
        ("return", 0.35),  # of cases exploited abroad
        ("reintegration", 0.15),
    )
    notes_per_case: float = 0.8  # Poisson mean
    shareable_note_share: float = 0.3
    referral_share: float = 0.08  # of open cases with assistance consent: referred to the partner
    narrative_share: float = 0.3

    def describe(self) -> str:
        """One line per parameter, for benchmark reports."""
        return "\n".join(f"{name} = {value}" for name, value in asdict(self).items())


DEFAULT_PARAMETERS = SyntheticParameters()
