"""Issue 18.6: the timeline shows every event of a case in words: every action the code audits
about a case has a label (translated: tests/i18n checks the catalogs)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

import casework
from casework.cases.timeline import ACTION_LABELS, action_label

RECORDED = re.compile(r"\brecord(?:_now)?\(\s*f?\"([a-z_.{}]+)\"")
#: Audited actions that are never about one case (accounts, exports, the platform), and the
#: case actions that the timeline deliberately hides or lists from their records.
NOT_ON_A_TIMELINE = frozenset(
    {
        "account.locked", "account.password_change", "account.totp_enabled", "audit.verify", "demo.seed",
        "export.download", "export.policy", "export.run", "login.failure", "login.success", "login.throttled",
        "logout", "org.create", "org.update", "user.create", "user.deactivate", "user.password_reset",
        "user.reactivate", "user.role_change", "user.totp_reset", "case.view", "case.search", "case.break_glass_search",
    }
)  # fmt: skip
#: f-string actions and what they expand to.
EXPANDED = {
    "task.{status}": ("task.done", "task.cancelled"),
    "{kind}.request": ("plan_review.request", "closure.request"),
}
DECISIONS = ("plan_review.approved", "plan_review.rejected", "closure.approved", "closure.rejected")


def recorded_actions() -> set[str]:
    root = Path(casework.__file__).parent
    found: set[str] = set(DECISIONS)
    for path in root.rglob("*.py"):
        for action in RECORDED.findall(path.read_text(encoding="utf-8")):
            found.update(EXPANDED.get(action, (action,)))
    return found


def test_every_case_action_has_words() -> None:
    actions = recorded_actions()
    assert "assessment.record" in actions and "case.close" in actions  # the scan finds them
    missing = sorted(a for a in actions - NOT_ON_A_TIMELINE if a not in ACTION_LABELS)
    assert not missing, f"audited actions without a timeline label: {missing}"


def test_detailed_labels_are_translated(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from flask_babel import force_locale

        with force_locale("fr"):
            text = action_label("assessment.record", {"kind": "risk_safety", "version": 2, "risk_level": "high"})
    assert "2" in text and "Assessment recorded" not in text
    with app.test_request_context():
        assert action_label("plan.goal_add", {"domain": "moon"}) == "Goal added to the case plan"
