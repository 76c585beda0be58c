"""Reminders: each day, a notice to every caseworker and supervisor with tasks overdue or due
within a week (counts only), and optionally the same as an e-mail digest.

An e-mail carries counts and a link to the work list, never a name, a reference, a task's
title or anything else about a person: mailboxes and mail servers are outside the system.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from casework.access import Role
from casework.auth.models import User
from casework.db import session, utcnow
from casework.notifications.models import Notification
from casework.tasks import worklist

log = logging.getLogger(__name__)
KIND = "tasks.reminder"


@dataclass(frozen=True, slots=True)
class Reminder:
    user_id: Any
    email: str
    language: str | None
    overdue: int
    week: int


def reminders_for(user: Any, limit: int = 20) -> list[Notification]:
    """The user's own reminders, newest first."""
    return list(
        session.execute(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == KIND)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def create_reminders(today: date) -> list[Reminder]:
    """Write today's reminder notices (one per person with something overdue or due within a
    week) and return them. Never commits."""
    users = session.execute(
        select(User)
        .where(User.active.is_(True), User.role.in_((Role.CASEWORKER.value, Role.SUPERVISOR.value)))
        .order_by(User.id)
    ).scalars()
    made = []
    for user in users:
        counts = worklist.counts(user, "mine", today)
        if not (counts.overdue or counts.week):
            continue
        session.add(
            Notification(
                organisation_id=user.organisation_id,
                kind=KIND,
                user_id=user.id,
                counts={"overdue": counts.overdue, "week": counts.week, "day": today.isoformat()},
                created_at=utcnow(),
            )
        )
        made.append(Reminder(user.id, user.email, user.language, counts.overdue, counts.week))
    session.flush()
    return made


def digest_message(reminder: Reminder, sender: str, base_url: str) -> EmailMessage:
    """The e-mail of one reminder: counts and a link, in the person's language."""
    link = base_url.rstrip("/") + "/home"
    with force_locale(reminder.language or "en"):
        subject = _("Your tasks for today")
        body = "\n\n".join(
            [
                _("Overdue: %(overdue)d. Due within a week: %(week)d.", overdue=reminder.overdue, week=reminder.week),
                _("Open your work list: %(link)s", link=link),
                _("This message holds no case information. Do not reply."),
            ]
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reminder.email
    message["Subject"] = subject
    message.set_content(body + "\n")
    return message


def send_digests(reminders: list[Reminder]) -> int:
    """E-mail the reminders over the configured SMTP server (none configured: nothing sent).
    Returns how many were sent. Raises OSError/smtplib.SMTPException when the server fails."""
    cfg = current_app.config["CASEWORK"]
    if not cfg.smtp_host or not reminders:
        return 0
    base_url = cfg.base_url or "http://127.0.0.1:5000"
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=30) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_user:
            smtp.login(cfg.smtp_user, cfg.smtp_password or "")
        for reminder in reminders:
            smtp.send_message(digest_message(reminder, cfg.smtp_from, base_url))
    return len(reminders)


def daily_reminders(today: date) -> dict[str, int]:
    """The daily job: notices, then digests. Never commits (the job runner does)."""
    made = create_reminders(today)
    sent = send_digests(made)
    log.info("reminders written", extra={"reminders": len(made), "emails": sent})
    return {"reminders": len(made), "emails": sent}
