"""What a partner sees of the plan and the assessments: only when a referral's field scope
names them (``case_plan``, ``assessments``; not shared by default), free text through the
grant's masking (casework.partners.masking)."""

from __future__ import annotations

from flask_babel import gettext as _

from casework import access, vocab
from casework.assessments.models import Assessment
from casework.partners.summary import Line, Section


def partner_sections(grant: access.CaseGrant) -> list[Section]:
    """Sections for the partner's case page (empty unless the scope shares them)."""
    from casework.assessments import services as assessments
    from casework.plans import services as plans

    sections: list[Section] = []
    if grant.can_see("plan"):
        lines = [
            Line(
                f"{vocab.PLAN_DOMAINS.label(goal.domain)} ({vocab.PLAN_GOAL_STATUSES.label(goal.status)})",
                str(grant.free_text(goal.description) or ""),
            )
            for goal in plans.goals_of(grant.case_id)
        ]
        sections.append(Section(_("Case plan"), lines))
    if grant.can_see("assessments"):
        latest: dict[str, Assessment] = {}
        for assessment in assessments.history(grant.case_id):  # newest first
            latest.setdefault(assessment.kind, assessment)
        lines = []
        for kind, assessment in latest.items():
            a = assessment
            if a.risk_level:
                value = _(
                    "%(total)s / %(max)s, risk level %(level)s (%(day)s)",
                    total=a.total_score,
                    max=a.max_score,
                    level=vocab.RISK_LEVELS.label(a.risk_level),
                    day=a.assessed_on.isoformat(),
                )
            else:
                value = vocab.SCREENING_OUTCOMES.label(a.outcome) if a.outcome else ""
            lines.append(Line(vocab.ASSESSMENT_KINDS.label(kind), value))
            plan = a.safety_plan
            if isinstance(plan, str) and plan:
                lines.append(Line(_("Safety plan"), str(grant.free_text(plan))))
        sections.append(Section(_("Assessments"), lines))
    return sections
