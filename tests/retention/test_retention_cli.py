"""`flask --app wsgi retention apply [--dry-run]`: closed cases erased N years after closure."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.cases.models import Case
from casework.crypto import ERASED
from casework.db import session, utcnow

TODAY = date(2026, 6, 30)


def set_case(app, case, **values):
    with app.app_context():
        row = session.get(Case, case.id)
        for key, value in values.items():
            setattr(row, key, value)
        session.commit()


def snapshot(app):
    with app.app_context():
        rows = session.execute(select(Case.id, Case.erased_at, Case.wrapped_key, Case.status)).all()
        events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        return sorted(rows), events


def population(make_org, make_user, make_case, app):
    kept5 = make_org("Five Years NGO", kind="lead_agency", retention_years=5)
    forever = make_org("Keeps Everything", kind="lead_agency")
    worker = make_user("caseworker", org=kept5)
    cases = {
        "due": make_case(kept5, assigned_to=worker, given_name="Duecase"),
        "leap_day_due": make_case(kept5, assigned_to=worker),
        "recent": make_case(kept5, assigned_to=worker),
        "open": make_case(kept5, assigned_to=worker),
        "no_policy": make_case(forever),
        "already_erased": make_case(kept5, assigned_to=worker),
    }
    set_case(app, cases["due"], status="closed", closed_on=date(2021, 3, 1))
    set_case(app, cases["leap_day_due"], status="closed", closed_on=date(2020, 2, 29))  # due 2025-02-28
    set_case(app, cases["recent"], status="closed", closed_on=date(2022, 1, 1))
    set_case(app, cases["no_policy"], status="closed", closed_on=date(2001, 1, 1))
    set_case(app, cases["already_erased"], status="closed", closed_on=date(2010, 1, 1), erased_at=utcnow())
    return cases


def test_dry_run_lists_references_and_dates_and_changes_nothing(app, runner, make_org, make_user, make_case):
    cases = population(make_org, make_user, make_case, app)
    before = snapshot(app)
    result = runner.invoke(args=["retention", "apply", "--dry-run", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"would erase {cases['leap_day_due'].reference}\tclosed 2020-02-29\tdue 2025-02-28"
    assert lines[1] == f"would erase {cases['due'].reference}\tclosed 2021-03-01\tdue 2026-03-01"
    assert lines[2].startswith("2 case(s) would erase")
    assert "Duecase" not in result.output
    assert snapshot(app) == before


def test_apply_erases_exactly_the_cases_due(app, runner, make_org, make_user, make_case):
    cases = population(make_org, make_user, make_case, app)
    result = runner.invoke(args=["retention", "apply", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "2 case(s) erased" in result.output
    with app.app_context():
        for name, case in cases.items():
            row = session.get(Case, case.id)
            if name in ("due", "leap_day_due"):
                assert row.erased_at is not None and row.erasure_reason == "retention policy"
                assert row.given_name is ERASED
            elif name != "already_erased":
                assert row.erased_at is None and row.wrapped_key is not None
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "case.erase")).scalars().all()
        assert {e.case_id for e in events} == {cases["due"].id, cases["leap_day_due"].id}
        assert all(e.details["trigger"] == "retention" for e in events)
    again = runner.invoke(args=["retention", "apply", "--today", TODAY.isoformat()])
    assert again.exit_code == 0 and "0 case(s) erased" in again.output


def test_bad_date_option_is_refused(runner):
    result = runner.invoke(args=["retention", "apply", "--today", "yesterday"])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
