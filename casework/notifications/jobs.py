"""Scheduled jobs that run once per day per deployment, whatever the number of workers/hosts.

The claim is a row of ``job_runs`` with primary key ``(job, day)``: the first process to
insert it runs the job; every other one gets an IntegrityError and skips. A failed run, or a
run left "running" for over ``STALE_AFTER`` (its process died), may be claimed again by one
conditional UPDATE. Processes look for due jobs with ``flask jobs run-due`` (cron or a systemd
timer) and/or their in-process ticker (``CASEWORK_JOBS_TICKER_SECONDS``): both go through the
same claim, so running both is safe.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import date, timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, insert, or_, update
from sqlalchemy.exc import IntegrityError

from casework.db import get_db, session, utcnow
from casework.notifications.models import JobRun

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(hours=1)
TICKER_EXTENSION = "casework.jobs.ticker"


def _jobs() -> dict[str, Callable[[date], dict[str, int]]]:
    from casework.notifications.reminders import daily_reminders

    return {"daily_reminders": daily_reminders}


def claim(job: str, day: date, node: str) -> bool:
    """Claim ``job`` for ``day`` in a transaction of its own; False when another process has."""
    engine = get_db(current_app).engine
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(insert(JobRun).values(job=job, day=day, node=node, started_at=now, outcome="running"))
        return True
    except IntegrityError:
        pass
    stale = and_(JobRun.outcome == "running", JobRun.started_at < now - STALE_AFTER)
    with engine.begin() as connection:
        retried = connection.execute(
            update(JobRun)
            .where(
                JobRun.job == job,
                JobRun.day == day,
                or_(JobRun.outcome == "failed", stale),
            )
            .values(node=node, started_at=now, outcome="running", finished_at=None)
        )
        return retried.rowcount == 1


def _finish(job: str, day: date, outcome: str, counts: dict[str, int] | None) -> None:
    with get_db(current_app).engine.begin() as connection:
        connection.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.day == day)
            .values(outcome=outcome, finished_at=utcnow(), counts=counts)
        )


def run_due(today: date | None = None, node: str | None = None) -> dict[str, str]:
    """Run every job not yet run today (in the app context); job -> done/failed/skipped."""
    today = today or date.today()
    node = node or f"{current_app.config['CASEWORK'].node_name}:{os.getpid()}"
    outcomes = {}
    for job, run in _jobs().items():
        if not claim(job, today, node):
            outcomes[job] = "skipped"
            continue
        try:
            counts = run(today)
            session.commit()
        except Exception:  # noqa: BLE001 - recorded as failed, retried by the next tick
            session.rollback()
            log.exception("scheduled job failed", extra={"job": job})
            _finish(job, today, "failed", None)
            outcomes[job] = "failed"
        else:
            _finish(job, today, "done", counts)
            outcomes[job] = "done"
    return outcomes


class Ticker:
    """A daemon thread per process that calls :func:`run_due` every ``seconds``."""

    def __init__(self, app: Flask, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.pid = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        """Start the thread in this process (gunicorn forks after loading the app)."""
        if self.seconds <= 0 or (self._thread is not None and self._thread.is_alive() and self.pid == os.getpid()):
            return
        self.pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="casework-jobs-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                with self.app.app_context():
                    run_due()
            except Exception:  # noqa: BLE001 - a ticker never dies; the next tick tries again
                log.exception("jobs ticker round failed")

    def stop(self) -> None:
        self._stop.set()


def init_app(app: Flask) -> None:
    seconds = app.config["CASEWORK"].jobs_ticker_seconds
    if seconds > 0:
        ticker = Ticker(app, seconds)
        app.extensions[TICKER_EXTENSION] = ticker
        app.before_request(ticker.ensure_started)


@click.group("jobs", help="Scheduled jobs (reminders): each runs once per day per deployment.")
def jobs_cli() -> None:
    pass


@jobs_cli.command("run-due")
@with_appcontext
def run_due_command() -> None:
    """Run the jobs not yet run today (safe on every host: one claims each job per day)."""
    for job, outcome in run_due().items():
        click.echo(f"{job}: {outcome}")
