"""Fixtures for the export tests: researchers, supervisors, consented cases and export limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from casework.db import session

PROFILE = {
    "exploitation_types": frozenset({"sexual_exploitation"}),
    "sexual_exploitation_types": frozenset({"prostitution"}),
    "means_of_control": frozenset({"debt_bondage", "takes_earnings"}),
    "labour_sectors": None,
    "recruiter_relationships": frozenset({"friend"}),
    "abducted": False,
    "age_at_exploitation_start": 22,
    "age_at_recruitment": 21,
}


@pytest.fixture
def org(make_org: Callable[..., Any]) -> Any:
    return make_org(name="Lead Agency", kind="lead_agency")


@pytest.fixture
def researcher(make_user: Callable[..., Any]) -> Any:
    return make_user("researcher")


@pytest.fixture
def supervisor(make_user: Callable[..., Any], org: Any) -> Any:
    return make_user("supervisor", org=org)


@pytest.fixture
def consented_case(make_case: Callable[..., Any], make_consent: Callable[..., Any], org: Any) -> Callable[..., Any]:
    """A case with a trafficking profile and active anonymised-research consent."""

    def make(profile: dict[str, Any] | None = None, consent: dict[str, Any] | None = None, **fields: Any) -> Any:
        case = make_case(org, profile={**PROFILE, **(profile or {})}, **fields)
        make_consent(case, "anonymised_research", **{"given_on": date.today() - timedelta(days=30), **(consent or {})})
        return case

    return make


@pytest.fixture
def export_limits(app: Flask, org: Any) -> Callable[..., Any]:
    """Set the dataset's policy directly (the policy page has its own tests)."""
    from casework.exports import policy

    def set_limits(
        min_k: int = 11,
        min_threshold: int = 10,
        max_dimensions: int = 3,
        allowed=None,
        epsilon_budget: float = 0.0,
        protection_width: int = 3,
        noise_scale: float = 2.0,
        rounding_base: int = 1,
    ) -> None:
        with app.app_context():
            saved = policy.policy_for(org.id)
            if saved.version_id is None:
                session.add(saved)
            saved.min_k = min_k
            saved.min_threshold = min_threshold
            saved.max_dimensions = max_dimensions
            saved.allowed_dimensions = list(allowed if allowed is not None else policy.DEFAULT_DIMENSIONS)
            saved.epsilon_budget = epsilon_budget
            saved.protection_width = protection_width
            saved.noise_scale = noise_scale
            saved.rounding_base = rounding_base
            session.commit()

    return set_limits
