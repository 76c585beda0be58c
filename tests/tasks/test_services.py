"""The task API (casework.tasks.services) that case plans build on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework.cases.validation import InputErrors
from casework.db import session
from casework.tasks import services
from casework.tasks.models import Task

TODAY = date.today()


def test_create_and_complete_a_task(app, world, granted):
    with granted(world.caseworker, world.case) as grant:
        task = services.create_task(grant, title_code="other", title="Ring the lawyer", due_on=TODAY)
        task_id = task.id
    with app.app_context():
        stored = session.get(Task, task_id)
        assert stored.status == "open" and stored.assignee_id is None
        assert b"lawyer" not in stored.title_ct  # encrypted under the case's key
        assert stored.title == "Ring the lawyer"
    with granted(world.caseworker, world.case) as grant:
        services.complete_task(grant, session.get(Task, task_id), expected_version=1)
    with app.app_context():
        stored = session.get(Task, task_id)
        assert stored.status == "done" and stored.closed_by_id == world.caseworker.id and stored.closed_at


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title_code": None, "due_on": TODAY}, "title_code"),
        ({"title_code": "deadline_permit_expiry", "due_on": TODAY}, "title_code"),
        ({"title_code": "bogus", "due_on": TODAY}, "title_code"),
        ({"title_code": "other", "due_on": TODAY}, "title"),
        ({"title_code": "visit", "due_on": None}, "due_on"),
        ({"title_code": "visit", "due_on": date(1990, 1, 1)}, "due_on"),
        ({"title_code": "visit", "due_on": TODAY, "title": "x" * 201}, "title"),
        ({"title_code": "visit", "due_on": TODAY, "title": "bad\x00"}, "title"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(app, world, granted, values, field):
    with granted(world.caseworker, world.case) as grant, pytest.raises(InputErrors) as refused:
        services.create_task(grant, **values)
    assert field in refused.value.errors
    with app.app_context():
        assert session.execute(select(Task)).first() is None


def test_assignee_must_be_able_to_open_the_case(app, world, granted):
    with granted(world.caseworker, world.case) as grant, pytest.raises(InputErrors) as refused:
        services.create_task(grant, title_code="visit", due_on=TODAY, assignee_id=world.colleague.id)
    assert "assignee" in refused.value.errors
    with granted(world.caseworker, world.case) as grant:
        task = services.create_task(
            grant, title_code="visit", due_on=TODAY - timedelta(days=3), assignee_id=world.supervisor.id
        )
        assert task.assignee_id == world.supervisor.id  # a past due date is allowed


def test_a_closed_task_cannot_be_closed_twice(app, world, granted):
    with granted(world.caseworker, world.case) as grant:
        task_id = services.create_task(grant, title_code="visit", due_on=TODAY).id
    with granted(world.caseworker, world.case) as grant:
        services.cancel_task(grant, session.get(Task, task_id))
    with granted(world.caseworker, world.case) as grant, pytest.raises(InputErrors):
        services.complete_task(grant, session.get(Task, task_id))
    with granted(world.caseworker, world.case) as grant, pytest.raises(services.VersionConflict):
        services.reopen_task(grant, session.get(Task, task_id), expected_version=1)
