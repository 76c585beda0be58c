"""Daily reminders: in-app notices and the e-mail digest, once per day per deployment."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework.assistance.models import MedicalAssistance
from casework.db import session
from casework.notifications import jobs
from casework.notifications.models import JobRun, Notification
from tests.tasks.smtp_sink import SmtpSink

TODAY = date.today()


def overdue_follow_up(app, case):
    with app.app_context():
        session.add(MedicalAssistance(case_id=case.id, status="in_progress", follow_up_on=TODAY - timedelta(days=2)))
        session.commit()


def race(apps, day):
    """Run the due jobs in every app at once (two hosts' tickers firing together)."""
    outcomes: list[dict[str, str]] = []
    barrier = threading.Barrier(len(apps))

    def run(app, node):
        with app.app_context():
            barrier.wait()
            outcomes.append(jobs.run_due(day, node=node))

    threads = [threading.Thread(target=run, args=(app, f"host{n}")) for n, app in enumerate(apps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def check_once(app, make_app, world):
    overdue_follow_up(app, world.case)
    with SmtpSink() as sink:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_from": "casework@example.org"}
        hosts = [make_app(create_schema=False, base_url="https://casework.example.org", **settings) for _ in range(2)]
        outcomes = race(hosts, TODAY)
        assert sorted(o["daily_reminders"] for o in outcomes) == ["done", "skipped"]
        assert race(hosts, TODAY) == [{"daily_reminders": "skipped"}] * 2  # later ticks that day
        assert len(sink.messages) == 1
        message = sink.messages[0]
    assert message["To"] == world.caseworker.email
    body = message.get_payload(decode=True).decode()
    assert "Overdue: 1." in body and "https://casework.example.org/home" in body
    for secret in ("Amara", "Okafor", world.case.reference, "follow-up"):
        assert secret not in body and secret not in str(message["Subject"])
    with app.app_context():
        assert session.execute(select(func.count()).select_from(JobRun)).scalar_one() == 1
        notice = session.execute(select(Notification).where(Notification.user_id == world.caseworker.id)).scalar_one()
        assert notice.counts["overdue"] == 1


def test_two_hosts_racing_send_one_digest_per_day(app, make_app, world):
    check_once(app, make_app, world)


@pytest.mark.postgres
def test_two_hosts_racing_send_one_digest_per_day_on_postgresql(app, make_app, world):
    check_once(app, make_app, world)


def test_a_failed_run_is_claimed_again_and_the_next_day_runs(app, world, monkeypatch):
    overdue_follow_up(app, world.case)
    with app.app_context():
        monkeypatch.setattr("casework.notifications.reminders.send_digests", lambda made: 1 / 0)
        assert jobs.run_due(TODAY) == {"daily_reminders": "failed"}
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 0  # rolled back
        monkeypatch.undo()
        assert jobs.run_due(TODAY) == {"daily_reminders": "done"}
        assert jobs.run_due(TODAY) == {"daily_reminders": "skipped"}
        assert jobs.run_due(TODAY + timedelta(days=1)) == {"daily_reminders": "done"}


def test_reminders_show_on_the_work_list_and_the_cli_runs_due_jobs(app, client, login, runner, world):
    overdue_follow_up(app, world.case)
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0 and "daily_reminders: done" in result.output
    assert "daily_reminders: skipped" in runner.invoke(args=["jobs", "run-due"]).output
    login(client, world.caseworker)
    page = client.get("/home").get_data(as_text=True)
    assert 'id="reminders"' in page and "Overdue: 1." in page
    client.post("/auth/logout")
    login(client, world.supervisor)  # the supervisor's notices page lists the organisation's, not personal ones
    assert "Your tasks" not in client.get("/notifications/").get_data(as_text=True)


def test_the_in_process_ticker_runs_due_jobs_in_the_app_context(app, monkeypatch):
    from flask import current_app

    ticker = jobs.Ticker(app, 0.01)
    seen = []

    def fake_run_due():
        seen.append(current_app.name)
        ticker.stop()
        return {}

    monkeypatch.setattr(jobs, "run_due", fake_run_due)
    ticker.ensure_started()
    ticker._thread.join(5)
    assert seen == [app.name]
    assert jobs.Ticker(app, 0).ensure_started() is None  # 0: no thread (the testing default)
