"""``flask --app wsgi keys ...``: the keyring and the master-key rotation protocol.

On a running deployment of several hosts (README, "Rotating master keys on a running
deployment"): ``keys add`` on one host, copy its keyring file to every host, ``keys activate
KEY``, ``keys rewrap``, ``keys retire OLD`` (then copy the file again, or run ``keys retire OLD``
on each host). ``keys status`` shows every step's state; ``keys rotate`` does the first three
on a single host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from casework.crypto import get_keyring, key_status, rotation
from casework.crypto.errors import KeyUnavailableError
from casework.crypto.keyring import Keyring
from casework.db import session


@click.group("keys", help="Master keys: init, add, activate, rewrap, retire, rotate, status, check.")
def keys_cli() -> None:
    pass


def _keyring_path() -> Path:
    return Path(current_app.config["CASEWORK"].keyring_path)


def _default_wait() -> float:
    """Long enough for every process to re-read its file twice (they poll at this interval)."""
    poll = float(current_app.config["CASEWORK"].keyring_poll_seconds or 5.0)
    return 2 * poll + 5


def _refused(exc: Exception) -> click.ClickException:
    if isinstance(exc, OperationalError):
        return click.ClickException(
            "the key state is locked by a long transaction (a bulk import?); nothing was changed: try again"
        )
    return click.ClickException(str(exc))


@keys_cli.command("init")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
def init_command(path: Path | None) -> None:
    """Create a new keyring file (refuses to overwrite one)."""
    target = path or Path(current_app.config["CASEWORK"].keyring_path)
    if target.exists():
        raise click.ClickException(f"{target} exists; refusing to overwrite a keyring")
    Keyring.generate().save(target)
    click.echo(f"keyring written to {target} (mode 600). Back it up apart from the database.")


@keys_cli.command("add")
@with_appcontext
def add_command() -> None:
    """Step 1: add a new master key, pending (it decrypts, never encrypts), to this host's
    keyring file and the database."""
    key_id = rotation.add_key(session, _keyring_path())
    click.echo(key_id)
    click.echo(
        f"added {key_id} (pending) to {_keyring_path()}. Next: copy this file to every application "
        f"host (mode 600; `keys status` shows when every process holds it), then `keys activate {key_id}`.",
        err=True,
    )


@keys_cli.command("activate")
@click.argument("key_id")
@click.option("--wait", "wait_seconds", type=float, default=None, help="Seconds to wait for every process to hold it.")
@with_appcontext
def activate_command(key_id: str, wait_seconds: float | None) -> None:
    """Step 2: make KEY_ID the key that wraps every new data key, on every host at once.
    Refused while any live app process of any host has not reported holding it."""
    wait = _default_wait() if wait_seconds is None else wait_seconds
    try:
        previous, active = rotation.activate(session, _keyring_path(), key_id, wait)
    except (rotation.RotationRefused, OperationalError) as exc:
        raise _refused(exc) from None
    if previous == active:
        click.echo(f"{active} is already the active key")
    else:
        click.echo(f"{active} is active; {previous} is retiring. Next: `keys rewrap`, then `keys retire {previous}`.")


@keys_cli.command("rewrap")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--pause", "pause_seconds", default=0.0, show_default=True, help="Seconds between batches.")
@with_appcontext
def rewrap_command(batch_size: int, pause_seconds: float) -> None:
    """Step 3: re-wrap every data key under the active key, in small transactions, while the
    app serves. Exits 1 if some data key could not be unwrapped here."""
    try:
        result = rotation.rewrap(session, _keyring_path(), batch_size, pause_seconds)
    except KeyUnavailableError as exc:
        raise click.ClickException(f"{exc}: copy the current keyring file to this host first") from None
    counts = ", ".join(f"{table}: {count}" for table, count in result.rewrapped.items())
    click.echo(f"re-wrapped {result.total} data keys under {result.active_key_id} ({counts})")
    if result.failed:
        failed = "; ".join(
            f"{table}: {count} under {key_id}"
            for table, by_key in result.failed.items()
            for key_id, count in by_key.items()
        )
        raise click.ClickException(f"left as they were, this keyring cannot unwrap them: {failed}")


@keys_cli.command("retire")
@click.argument("key_id")
@click.option(
    "--archive",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write this keyring, with KEY_ID, to this file, to be kept with the backups that need it.",
)
@click.option(
    "--backups-unrestorable",
    is_flag=True,
    help="Accept that backups made while KEY_ID wrapped data keys can no longer be restored.",
)
@click.option("--wait", "wait_seconds", type=float, default=None, help="Seconds to wait for processes to report.")
@with_appcontext
def retire_command(key_id: str, archive: Path | None, backups_unrestorable: bool, wait_seconds: float | None) -> None:
    """Step 4: retire KEY_ID for the deployment and remove it from this host's keyring file.
    Refused while any data key is wrapped under it, while a live process has not seen the
    switch away from it, or while kept backups may need it (CASEWORK_BACKUP_RETENTION_DAYS)."""
    retention = current_app.config["CASEWORK"].backup_retention_days
    try:
        result = rotation.retire(
            session,
            _keyring_path(),
            key_id,
            backup_retention_days=retention,
            archive=archive,
            backups_unrestorable=backups_unrestorable,
            wait_seconds=_default_wait() if wait_seconds is None else wait_seconds,
        )
    except (rotation.RotationRefused, OperationalError) as exc:
        raise _refused(exc) from None
    if result.already:
        where = "removed it from this host's keyring file" if result.removed_from_file else "this host's file lacks it"
        click.echo(f"{key_id} was already retired; {where}")
        return
    click.echo(f"retired {key_id}; removed from {_keyring_path()}")
    if result.archive is not None:
        until = f" until {result.keep_archive_until:%Y-%m-%d}" if result.keep_archive_until else ""
        click.echo(
            f"archive written to {result.archive}: keep it with the backups that need it{until}, then destroy it"
        )
    click.echo(
        "Next: copy this file to every other host (or run this command there); `keys status` lists "
        "processes still holding the key. Destroy old copies of the keyring that hold it."
    )


@keys_cli.command("rotate")
@click.option("--wait", "wait_seconds", type=float, default=None, help="Seconds to wait for every process to hold it.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def rotate_command(wait_seconds: float | None, batch_size: int) -> None:
    """Steps 1 to 3 in one go, for a deployment on a single host: add a key, activate it once
    every live process holds it, re-wrap. On several hosts, activation is refused until the
    file is copied to them (the key stays pending; follow the protocol from `keys activate`)."""
    wait = _default_wait() if wait_seconds is None else wait_seconds
    try:
        previous, active, result = rotation.rotate(session, _keyring_path(), wait, batch_size)
    except (rotation.RotationRefused, OperationalError, KeyUnavailableError) as exc:
        raise _refused(exc) from None
    click.echo(f"new master key {active} is active; re-wrapped {result.total} data keys")
    if result.failed:
        raise click.ClickException("some data keys could not be re-wrapped: run `keys rewrap` and `keys check`")
    click.echo(f"Retire the old key once backups no longer need it: `keys retire {previous}`.")


@keys_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def status_command(as_json: bool) -> None:
    """Master keys (state, data keys each wraps), this host's file, and every app process's
    last report (ids and hosts only; never key material). Exits 1 when a problem is listed."""
    report = key_status.status(session, _keyring_path())
    data = _status_data(report)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_status(data)
    if report.problems:
        raise SystemExit(1)


def _status_data(report: key_status.Status) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    keys = []
    for record in report.keys:
        keys.append(
            {
                "id": record.key_id,
                "state": record.state,
                "in_this_keyring": record.key_id in report.in_this_file,
                "data_keys": {table: by_key.get(record.key_id, 0) for table, by_key in report.wrapped.items()},
                "created_at": when(record.created_at),
                "activated_at": when(record.activated_at),
                "deactivated_at": when(record.deactivated_at),
                "drained_at": when(record.drained_at),
                "retired_at": when(record.retired_at),
            }
        )
    processes = [
        {
            "host": p.host,
            "pid": p.pid,
            "live": live,
            "holds": p.held,
            "active_key_id": p.active_key_id,
            "generation": p.generation,
            "last_seen": when(p.last_seen),
            "started_at": when(p.started_at),
            "problem": p.problem,
        }
        for p, live in report.processes
    ]
    return {
        "active_key_id": report.state.active_key_id,
        "generation": report.state.generation,
        "keys": keys,
        "this_keyring": report.in_this_file,
        "processes": processes,
        "problems": report.problems,
    }


def _print_status(data: dict[str, Any]) -> None:
    click.echo(f"active key: {data['active_key_id']} (generation {data['generation']})")
    click.echo("master keys:")
    for key in data["keys"]:
        counts = ", ".join(f"{t} {n}" for t, n in key["data_keys"].items())
        here = "in this file" if key["in_this_keyring"] else "not in this file"
        click.echo(f"  {key['id']}\t{key['state']}\t{counts}\t{here}")
    click.echo("app processes (live first):")
    for p in sorted(data["processes"], key=lambda p: not p["live"]):
        mark = "live" if p["live"] else "gone"
        click.echo(f"  {p['host']} pid {p['pid']}\t{mark}\tholds {' '.join(p['holds'])}\tlast seen {p['last_seen']}")
    for problem in data["problems"]:
        click.echo(f"PROBLEM: {problem}")
    if not data["problems"]:
        click.echo("no problem found")


@keys_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Check that the keyring can serve this database (scripts/serve and every gunicorn worker
    run it before serving); exits 1 with the reasons when it cannot."""
    from casework.audit.verify import anchor_ahead
    from casework.crypto.ownership import KeyringMismatch, check_keyring_matches_database
    from casework.db import session

    try:
        check_keyring_matches_database(current_app)
    except KeyringMismatch as exc:
        raise click.ClickException(str(exc)) from None
    # The audit anchor (outside the database) must not name more of the log than the database
    # holds: not part of the check before serving, so that a restore can start and be audited.
    try:
        ahead = anchor_ahead(session, get_keyring().audit_key, current_app.config["CASEWORK"].audit_anchor_path)
    except OSError as exc:
        raise click.ClickException(f"the audit anchor cannot be read: {exc}") from None
    if ahead is not None:
        raise click.ClickException(ahead)
    click.echo("the keyring matches the database")
