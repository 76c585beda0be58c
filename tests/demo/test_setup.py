"""What ``scripts/run --demo`` leaves behind: one administrator, one lead agency, and each demo
account's address under its own organisation's domain."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from sqlalchemy import select

from casework.auth.models import Organisation, User
from casework.db import session

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run"
SET_UP_COMMANDS = ("users bootstrap", "demo seed")


def demo_setup_commands() -> list[list[str]]:
    """The account and demo commands of scripts/run --demo, in the script's order."""
    commands = []
    for line in SCRIPT.read_text().splitlines():
        match = re.match(r"\s*flask (.*)", line)
        if match and match.group(1).startswith(SET_UP_COMMANDS):
            args = shlex.split(match.group(1).split("#")[0])
            if args[:2] == ["demo", "seed"]:
                args = ["demo", "seed", "--cases", "5", "--workers", "1"]  # the script's count is large
            commands.append(args)
    assert [c[:2] for c in commands] != [], "scripts/run runs no set-up command"
    return commands


def run_setup(runner) -> str:
    output = []
    for args in demo_setup_commands():
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        output.append(result.output)
    return "\n".join(output)


def test_run_demo_leaves_one_administrator_and_one_lead_agency(app, runner):
    run_setup(runner)
    with app.app_context():
        admins = session.execute(select(User).where(User.role == "admin")).scalars().all()
        assert len(admins) == 1, [a.email for a in admins]
        leads = session.execute(select(Organisation.name).where(Organisation.kind == "lead_agency")).scalars().all()
        assert leads == ["Demo Lead Agency"]
        assert admins[0].organisation.name == "Demo Lead Agency"


def test_demo_after_a_first_administrator_adds_no_second_one(app, runner):
    assert runner.invoke(args=["users", "bootstrap"]).exit_code == 0
    result = runner.invoke(args=["demo", "users"])
    assert result.exit_code == 0, result.output
    assert "admin@casework.local" in result.output  # says which administrator to use
    with app.app_context():
        assert session.execute(select(User.email).where(User.role == "admin")).scalars().all() == [
            "admin@casework.local"
        ]


def test_demo_addresses_are_under_each_accounts_own_organisation(app, runner):
    run_setup(runner)
    with app.app_context():
        for user in session.execute(select(User)).scalars():
            domain = user.email.split("@", 1)[1]
            slug = re.sub(r"[^a-z0-9]+", "-", user.organisation.name.casefold()).strip("-")
            assert domain == f"{slug}.example.org", (user.role, user.email, user.organisation.name)
        partner = session.execute(select(User).where(User.role == "partner")).scalar_one()
        assert partner.email == "partner@demo-partner-ngo.example.org"
