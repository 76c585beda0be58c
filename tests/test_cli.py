from sqlalchemy import select

from casework.auth.models import User
from casework.auth.passwords import verify_password
from casework.db import session


def test_users_create_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "Ana@Example.org", "--role", "caseworker", "--org", "Shelter One"],
        input="a long enough passphrase 9\n",
    )
    assert result.exit_code == 0, result.output
    assert "passphrase" not in result.output
    with app.app_context():
        user = session.execute(select(User)).scalar_one()
        assert user.email == "ana@example.org"
        assert user.organisation.name == "Shelter One"
        assert verify_password(user.password_hash, "a long enough passphrase 9")


def test_users_create_refuses_a_weak_password_and_saves_nothing(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--role", "caseworker", "--org", "O"],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "at least 12" in result.output
    with app.app_context():
        assert session.execute(select(User)).first() is None


def test_users_create_refuses_a_role_the_organisation_kind_cannot_hold(app, runner, make_org):
    make_org(name="Research Uni", kind="research")
    result = runner.invoke(
        args=["users", "create", "--email", "c@example.org", "--role", "caseworker", "--org", "Research Uni"],
        input="a long enough passphrase 9\n",
    )
    assert result.exit_code != 0
    assert "cannot belong" in result.output


def test_bootstrap_creates_one_admin_once(app, runner):
    first = runner.invoke(args=["users", "bootstrap"])
    assert first.exit_code == 0 and "One-time password" in first.output
    second = runner.invoke(args=["users", "bootstrap"])
    assert "nothing to do" in second.output
    with app.app_context():
        admins = session.execute(select(User).where(User.role == "admin")).scalars().all()
        assert len(admins) == 1 and admins[0].must_change_password


def test_keys_init_refuses_to_overwrite(app, runner, keyring_file):
    result = runner.invoke(args=["keys", "init", "--path", str(keyring_file)])
    assert result.exit_code != 0 and "refusing to overwrite" in result.output


def test_keys_init_writes_a_new_keyring(app, runner, tmp_path):
    target = tmp_path / "fresh.json"
    result = runner.invoke(args=["keys", "init", "--path", str(target)])
    assert result.exit_code == 0, result.output
    assert target.exists() and target.stat().st_mode & 0o077 == 0


def test_lazy_command_groups_are_the_real_ones():
    """casework.cli registers each group by name and imports it on use: the name must be the
    group's own, and every group must import."""
    import importlib

    from casework.cli import COMMANDS

    for name, module, attribute in COMMANDS:
        group = getattr(importlib.import_module(module), attribute)
        assert group.name == name, module


def test_a_lazy_group_runs_its_commands_and_shows_its_help(app, runner):
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0, result.output
    assert "Revert migrations" in runner.invoke(args=["db", "--help"]).output
    listing = runner.invoke(args=["--help"]).output
    assert "Database schema migrations." in listing and "The tamper-evident audit log." in listing
