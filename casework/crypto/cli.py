"""``flask --app wsgi keys ...``: create the keyring, rotate and retire master keys."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from casework.crypto import rotation
from casework.crypto.keyring import Keyring


@click.group("keys", help="Master keys: init, rotate, retire, status, check.")
def keys_cli() -> None:
    pass


def _keyring_path() -> Path:
    return Path(current_app.config["CASEWORK"].keyring_path)


@keys_cli.command("init")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")
def init_command(path: Path | None) -> None:
    """Create a new keyring file (refuses to overwrite one)."""
    target = path or Path(current_app.config["CASEWORK"].keyring_path)
    if target.exists():
        raise click.ClickException(f"{target} exists; refusing to overwrite a keyring")
    Keyring.generate().save(target)
    click.echo(f"keyring written to {target} (mode 600). Back it up apart from the database.")


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True)
@with_appcontext
def rotate_command(batch_size: int) -> None:
    """Add a new master key and re-wrap every data key under it, in small transactions
    (the app keeps serving: old keys still decrypt until retired)."""
    result = rotation.rotate(_keyring_path(), batch_size=batch_size)
    click.echo(
        f"new master key {result.new_key_id}; re-wrapped {result.rewrapped} data keys "
        f"({result.cases} cases, {result.users} users)"
    )
    click.echo("Old master keys still decrypt. Retire them with `keys retire KEY_ID` once backups rotate.")


@keys_cli.command("retire")
@click.argument("key_id")
@with_appcontext
def retire_command(key_id: str) -> None:
    """Remove a master key that no data key uses any more."""
    try:
        rotation.retire(_keyring_path(), key_id)
    except rotation.KeyStillInUse as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"retired {key_id}")


@keys_cli.command("status")
@with_appcontext
def status_command() -> None:
    """Master keys and how many data keys each wraps (ids only; never key material)."""
    for key_id, count in rotation.usage(_keyring_path()).items():
        click.echo(f"{key_id}\t{count}")


@keys_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Check that the keyring is this database's own (scripts/run and gunicorn.conf.py run it
    before serving); exits 1 with the reason when it is not."""
    from casework.crypto.ownership import KeyringMismatch, check_keyring_matches_database

    try:
        check_keyring_matches_database(current_app)
    except KeyringMismatch as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("the keyring matches the database")
