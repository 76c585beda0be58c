"""Each organisation's release policy: the system's hard floors, the limits a supervisor sets
for their own organisation's dataset (only ever stricter than the floors), and the privacy
budget ledger that differentially private releases spend.

Services flush and never commit. The budget is spent by one conditional UPDATE
(:func:`spend`), so two releases running at once can never pass it together: on PostgreSQL the
second waits for the first's row lock and re-checks the condition, on SQLite writers take turns.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from casework.audit import writer as audit
from casework.db import session
from casework.exports import aggregates, tables
from casework.exports.models import FLOOR_K, FLOOR_THRESHOLD, ExportPolicy

__all__ = ["FLOOR_K", "FLOOR_THRESHOLD"]

#: Hard floors: no policy, form, command or service goes below them.
FLOOR_WIDTH = 2  # a hidden count is never pinned to fewer than 3 possible values
FLOOR_NOISE_SCALE = 1.0
MAX_K = 1000
MAX_THRESHOLD = 1000
MAX_WIDTH = 100
MAX_NOISE_SCALE = 10.0
ROUNDING_BASES = (1, 2, 3, 5, 10)
MAX_EPSILON_BUDGET = 100.0
MAX_DELTA_BUDGET = 1e-3
#: One release may spend between these (researcher's choice, within what is left).
MIN_RELEASE_EPSILON = 0.1
MAX_RELEASE_EPSILON = 10.0
DEFAULT_DIMENSIONS = tuple(tables.DIMENSIONS)
#: Organisations whose cases form a dataset researchers may ask releases of.
DATASET_KINDS = ("lead_agency", "government")
_TOLERANCE = 1e-9


class PolicyRefused(ValueError):
    """A policy value outside what the system allows; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PolicyConflict(RuntimeError):
    """The policy was changed by someone else since the form was loaded."""


class BudgetExceeded(ValueError):
    """The release would pass the dataset's privacy budget; nothing was spent."""


# -- reading ---------------------------------------------------------------------------------------
def default_policy(organisation_id: uuid.UUID) -> ExportPolicy:
    """The policy of a dataset whose supervisors never saved one (not added to the session):
    the floors, every dimension, no privacy budget."""
    return ExportPolicy(
        organisation_id=organisation_id,
        min_k=FLOOR_K,
        min_threshold=FLOOR_THRESHOLD,
        max_dimensions=2,
        allowed_dimensions=list(DEFAULT_DIMENSIONS),
        protection_width=3,
        noise_scale=2.0,
        rounding_base=1,
        epsilon_budget=0.0,
        delta_budget=1e-5,
        epsilon_spent=0.0,
        delta_spent=0.0,
    )


def policy_for(organisation_id: uuid.UUID) -> ExportPolicy:
    """The saved policy of the organisation's dataset, or the defaults (unsaved)."""
    return session.get(ExportPolicy, organisation_id) or default_policy(organisation_id)


def policy_version(policy: ExportPolicy) -> int:
    """The version a policy form must send back (0 before the first save)."""
    return policy.version_id or 0


def remaining_epsilon(policy: ExportPolicy) -> float:
    return max(0.0, (policy.epsilon_budget or 0.0) - (policy.epsilon_spent or 0.0))


def remaining_delta(policy: ExportPolicy) -> float:
    return max(0.0, (policy.delta_budget or 0.0) - (policy.delta_spent or 0.0))


def datasets() -> list[tuple[uuid.UUID, str]]:
    """(organisation id, name) of every dataset researchers may ask a release of."""
    from casework.auth.models import Organisation

    stmt = (
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind.in_(DATASET_KINDS), Organisation.active.is_(True))
        .order_by(Organisation.name)
    )
    return [(row[0], row[1]) for row in session.execute(stmt)]


def dataset_name(organisation_id: uuid.UUID | None) -> str | None:
    from casework.auth.models import Organisation

    if organisation_id is None:
        return None
    org = session.get(Organisation, organisation_id)
    return org.name if org is not None else None


# -- changing --------------------------------------------------------------------------------------
def _in_range(value: float, low: float, high: float) -> bool:
    return not math.isnan(value) and low <= value <= high


def validate(
    *,
    min_k: int,
    min_threshold: int,
    max_dimensions: int,
    allowed_dimensions: Sequence[str],
    protection_width: int,
    noise_scale: float,
    rounding_base: int,
    epsilon_budget: float,
    delta_budget: float,
) -> None:
    """Raises PolicyRefused on the first value the system does not allow."""
    if min_k < FLOOR_K:
        raise PolicyRefused(_("The minimum k cannot be lowered below %(floor)d.", floor=FLOOR_K), "min_k")
    if min_k > MAX_K:
        raise PolicyRefused(_("The minimum k can be at most %(high)d.", high=MAX_K), "min_k")
    if min_threshold < FLOOR_THRESHOLD:
        raise PolicyRefused(
            _("The smallest published count cannot be lowered below %(floor)d.", floor=FLOOR_THRESHOLD),
            "min_threshold",
        )
    if min_threshold > MAX_THRESHOLD:
        raise PolicyRefused(
            _("The smallest published count can be at most %(high)d.", high=MAX_THRESHOLD), "min_threshold"
        )
    if not 1 <= max_dimensions <= aggregates.MAX_DIMENSIONS:
        raise PolicyRefused(
            _("A table may have between 1 and %(high)d dimensions.", high=aggregates.MAX_DIMENSIONS), "max_dimensions"
        )
    if set(allowed_dimensions) - set(tables.DIMENSIONS):
        raise PolicyRefused(_("Unknown dimension."), "allowed_dimensions")
    if not FLOOR_WIDTH <= protection_width <= MAX_WIDTH:
        raise PolicyRefused(
            _(
                "The protection interval cannot be narrower than %(floor)d or wider than %(high)d.",
                floor=FLOOR_WIDTH,
                high=MAX_WIDTH,
            ),
            "protection_width",
        )
    if not _in_range(noise_scale, FLOOR_NOISE_SCALE, MAX_NOISE_SCALE):
        raise PolicyRefused(
            _(
                "The perturbation scale cannot be lowered below %(floor)s or raised above %(high)s.",
                floor=f"{FLOOR_NOISE_SCALE:g}",
                high=f"{MAX_NOISE_SCALE:g}",
            ),
            "noise_scale",
        )
    if rounding_base not in ROUNDING_BASES:
        raise PolicyRefused(_("Unknown rounding."), "rounding_base")
    if not _in_range(epsilon_budget, 0.0, MAX_EPSILON_BUDGET):
        raise PolicyRefused(
            _("The privacy budget must be between 0 and %(high)s.", high=f"{MAX_EPSILON_BUDGET:g}"), "epsilon_budget"
        )
    if not _in_range(delta_budget, 0.0, MAX_DELTA_BUDGET):
        raise PolicyRefused(
            _("The delta budget must be between 0 and %(high)s.", high=f"{MAX_DELTA_BUDGET:g}"), "delta_budget"
        )


def update_policy(
    actor: Any,
    organisation_id: uuid.UUID,
    *,
    version_id: int,
    min_k: int,
    min_threshold: int,
    max_dimensions: int,
    allowed_dimensions: Sequence[str],
    protection_width: int,
    noise_scale: float,
    rounding_base: int,
    epsilon_budget: float,
    delta_budget: float,
) -> ExportPolicy:
    """Change the policy of ``organisation_id``'s dataset. Raises PolicyRefused on a value the
    system does not allow (below a floor included) and PolicyConflict when ``version_id`` is not
    the saved version. The spent budget is never changed here."""
    values: dict[str, Any] = {
        "min_k": min_k,
        "min_threshold": min_threshold,
        "max_dimensions": max_dimensions,
        "allowed_dimensions": [d for d in tables.DIMENSIONS if d in set(allowed_dimensions)],
        "protection_width": protection_width,
        "noise_scale": float(noise_scale),
        "rounding_base": rounding_base,
        "epsilon_budget": float(epsilon_budget),
        "delta_budget": float(delta_budget),
    }
    validate(**{**values, "allowed_dimensions": allowed_dimensions})
    saved = policy_for(organisation_id)
    if policy_version(saved) != version_id:
        raise PolicyConflict()
    if saved.version_id is None:
        session.add(saved)
    for name, value in values.items():
        setattr(saved, name, value)
    saved.updated_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(
        "export.policy",
        target_type="Organisation",
        target_id=str(organisation_id),
        details=values,
        actor=actor,
    )
    return saved


def spend(organisation_id: uuid.UUID, epsilon: float, delta: float) -> None:
    """Spend ``epsilon`` and ``delta`` of the dataset's budget, or raise BudgetExceeded and
    spend nothing. Atomic: one UPDATE whose WHERE clause holds the budget check."""
    if epsilon <= 0 or delta < 0:
        raise ValueError("a release spends a positive epsilon and a non-negative delta")
    table = ExportPolicy.__table__
    statement = (
        update(table)
        .where(
            table.c.organisation_id == organisation_id,
            table.c.epsilon_spent + epsilon <= table.c.epsilon_budget + _TOLERANCE,
            table.c.delta_spent + delta <= table.c.delta_budget + _TOLERANCE * 1e-6,
        )
        .values(epsilon_spent=table.c.epsilon_spent + epsilon, delta_spent=table.c.delta_spent + delta)
    )
    if session.execute(statement).rowcount != 1:
        raise BudgetExceeded(budget_message(policy_for(organisation_id), epsilon))
    saved = session.get(ExportPolicy, organisation_id)
    if saved is not None:
        session.refresh(saved, ["epsilon_spent", "delta_spent"])


def budget_message(policy: ExportPolicy, epsilon: float) -> str:
    left = remaining_epsilon(policy)
    if (policy.epsilon_budget or 0.0) <= 0:
        return _("No privacy budget has been set for this dataset: ask one of its supervisors.")
    return _(
        "This release would spend ε = %(asked)s but only ε = %(left)s of the dataset's budget is left: "
        "nothing was released or spent.",
        asked=f"{epsilon:g}",
        left=f"{left:.2f}",
    )
