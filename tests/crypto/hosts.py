"""Two application hosts on one database, each with its own copy of the keyring file.

Each host is a Flask app built from the same settings but its own ``CASEWORK_KEYRING`` path, as
two machines behind one load balancer would be; the operator's commands run on host A's
configuration (``flask --app wsgi keys ...`` on that machine).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from casework.cases.models import Case
from casework.crypto.keyring import Keyring
from casework.db import session
from tests.cases.conftest import registration_data


@dataclass
class KeyFiles:
    a: Path
    b: Path

    def copy_a_to_b(self) -> None:
        """What the operator does with scp: host B's file becomes host A's."""
        shutil.copyfile(self.a, self.b)


def file_key_ids(path: Path) -> list[str]:
    return Keyring.load(path).key_ids


def wrapping_key_ids(app: Flask) -> dict[uuid.UUID, str | None]:
    with app.app_context():
        return {row.id: row.wrapping_key_id for row in session.execute(select(Case.id, Case.wrapping_key_id))}


def register_over_http(client: Any, given_name: str) -> Any:
    """Register a case through the form as a caseworker's browser does (no duplicate: the name
    is unique and there is no date of birth or document)."""
    data = registration_data(
        given_name=given_name, family_name="Rotation", date_of_birth="", document_number="", document_type=""
    )
    return client.post("/cases/new", data=data)


def opens(client: Any, case_id: uuid.UUID) -> int:
    return int(client.get(f"/cases/{case_id}").status_code)


def signed_in(app: Flask, login: Callable[..., Any], user: Any) -> Any:
    client = app.test_client()
    login(client, user)
    return client


# -- the operator's commands, on a host's configuration -----------------------------------------
def keys(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def refused(result, *needles):
    assert result.exit_code == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output
    return result.output


def add_key(app) -> str:
    return ok(keys(app, "add")).stdout.splitlines()[0].strip()
