"""Backups of a PostgreSQL deployment and their restore (scripts/backup, scripts/restore).

A backup is a directory: ``casework.dump`` (``pg_dump --format=custom``, taken from one
snapshot) and ``manifest.json``, which says what the dump needs to be read: the schema
revision and the id of every master key that wraps a data key in it (cases, users' TOTP seeds,
export files), read from the very snapshot the dump was taken from. The keyring itself is never
in a backup: keep it apart (README "Backups"). A restore refuses a keyring that lacks one of
the manifest's master keys, restores into a new database, then proves that every data key of
the copy unwraps and that the newest audit event verifies under the keyring.

Erasure and backups: erasing a case destroys its wrapped data key in the database; a backup
made before still holds it, readable with a keyring that still has the master key that wrapped
it. Such a case is unreadable in every backup once that master key is rotated out, retired, and
gone from every keyring copy (README "Backups" and the erase page say so).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL, make_url

MANIFEST = "manifest.json"
DUMP = "casework.dump"
FORMAT = 1


class BackupError(click.ClickException):
    """The backup or restore cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    database: str
    revision: str
    dump_sha256: str
    master_key_ids: list[str]
    cases: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "database": self.database,
            "alembic_revision": self.revision,
            "dump": DUMP,
            "dump_sha256": self.dump_sha256,
            "master_key_ids": self.master_key_ids,
            "cases": self.cases,
            "keyring": "Restore with a keyring file that holds every master key id above (scripts/restore checks).",
        }

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            data = json.loads((directory / MANIFEST).read_text())
            if data.get("format") != FORMAT:
                raise BackupError(f"{directory / MANIFEST}: unknown manifest format")
            return cls(
                data["created_at"],
                data["database"],
                data["alembic_revision"],
                data["dump_sha256"],
                list(data["master_key_ids"]),
                int(data["cases"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{directory} holds no readable backup manifest ({type(exc).__name__})") from None


def owner_tables() -> list[Any]:
    """Every table whose rows own a wrapped data key (all DataKeyOwner models)."""
    from casework.crypto import DataKeyOwner
    from casework.db import Base

    return sorted(
        (m.class_ for m in Base.registry.mappers if issubclass(m.class_, DataKeyOwner)),
        key=lambda model: model.__tablename__,
    )


def postgres_environment(url: URL) -> dict[str, str]:
    """libpq variables for pg_dump/pg_restore: the password never goes on a command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", dict(url.query).get("sslmode")),  # the URL's parameters, not an ORM query
    ):
        if value:
            env[variable] = str(value)
    return env


def _postgres_url(engine_or_url: Engine | str) -> URL:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(_driver_url(engine_or_url))
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            "scripts/backup and scripts/restore are for PostgreSQL (copy an SQLite file while the app is stopped)"
        )
    return url


def _driver_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _run_tool(name: str, args: list[str], url: URL) -> None:
    """Run pg_dump or pg_restore against ``url`` (credentials in the environment, never in the
    arguments). Raises BackupError with the end of its error output when it fails."""
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [tool, *args], env=postgres_environment(url), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{name} failed: {result.stderr.strip()[-500:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- backup ----------------------------------------------------------------------------------------
def create(engine: Engine, directory: Path) -> Manifest:
    """Dump the database into a new ``directory`` with its manifest. The master key ids are read
    in the transaction whose snapshot pg_dump dumps, so they are exactly the dump's."""
    url = _postgres_url(engine)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} exists and is not empty: give a new directory for each backup")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    dump = directory / DUMP
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            key_ids: set[str] = set()
            for model in owner_tables():
                key_ids.update(
                    connection.execute(
                        select(model.wrapping_key_id).where(model.wrapped_key.is_not(None)).distinct()
                    ).scalars()
                )
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            cases = connection.execute(text("SELECT count(*) FROM cases")).scalar_one()
            # pg_dump reads the snapshot while this transaction holds it open.
            _run_tool("pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={dump}"], url)
    dump.chmod(0o600)
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database=str(url.database),
        revision=str(revision),
        dump_sha256=_sha256(dump),
        master_key_ids=sorted(k for k in key_ids if k),
        cases=int(cases),
    )
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest.as_dict(), indent=2) + "\n")
    path.chmod(0o600)
    return manifest


# -- restore ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    cases: int
    data_keys: int


def restore(directory: Path, target: str, keyring_path: Path) -> Restored:
    """Restore the backup in ``directory`` into the new database ``target`` (created here) and
    check that ``keyring_path`` reads all of it. Raises BackupError, before anything is
    created, when the dump is damaged or the keyring lacks a master key the dump needs."""
    from casework.crypto.keyring import Keyring

    manifest = Manifest.read(directory)
    dump = directory / DUMP
    if not dump.is_file() or _sha256(dump) != manifest.dump_sha256:
        raise BackupError(f"{dump} is missing or does not match the manifest's checksum")
    keyring = Keyring.load(keyring_path)
    missing = sorted(set(manifest.master_key_ids) - set(keyring.key_ids))
    if missing:
        raise BackupError(
            f"the keyring {keyring_path} lacks master key(s) {', '.join(missing)} that this backup needs: "
            "restore with the keyring file that was in use when the backup was made (README, 'Backups')"
        )
    url = _postgres_url(target)
    _create_database(url)
    _run_tool(
        "pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url.database}", str(dump)], url
    )
    return verify(url, keyring, manifest)


def _create_database(url: URL) -> None:
    from sqlalchemy import create_engine

    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if exists:
                raise BackupError(f"the database {url.database} exists: restore into a new database")
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        server.dispose()


def verify(url: URL, keyring: Any, manifest: Manifest) -> Restored:
    """Every data key of the restored copy unwraps under ``keyring``; the newest audit event
    verifies under its audit key; the schema and the case count are the manifest's."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from casework.crypto import CryptoError, unwrap_data_key
    from casework.crypto.ownership import mismatch

    engine = create_engine(url)
    try:
        with Session(engine) as db:
            revision = db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            if revision != manifest.revision:
                raise BackupError(f"the restored schema is at {revision}, the manifest says {manifest.revision}")
            problem = mismatch(db, keyring)
            if problem is not None:
                raise BackupError(f"the keyring is not this backup's: {problem}")
            unwrapped = 0
            for model in owner_tables():
                rows = db.execute(select(model.id, model.wrapped_key).where(model.wrapped_key.is_not(None)))
                for row_id, wrapped in rows:
                    try:
                        unwrap_data_key(keyring, wrapped, model.__tablename__, row_id)
                    except CryptoError:
                        raise BackupError(
                            f"a data key in {model.__tablename__} does not unwrap with this keyring"
                        ) from None
                    unwrapped += 1
            cases = db.execute(text("SELECT count(*) FROM cases")).scalar_one()
            if cases != manifest.cases:
                raise BackupError(f"{cases} cases restored, the manifest says {manifest.cases}")
    finally:
        engine.dispose()
    return Restored(int(cases), unwrapped)


# -- commands ---------------------------------------------------------------------------------------
@click.group("backup", help="Backups: dump with a manifest of the keys it needs; restore and check.")
def backup_cli() -> None:
    pass


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def create_command(directory: Path) -> None:
    """Dump the configured database into DIRECTORY (new), with manifest.json."""
    from casework.db import get_db

    manifest = create(get_db(current_app).engine, directory)
    click.echo(
        f"backup of {manifest.database} ({manifest.cases} cases, schema {manifest.revision}) in {directory}; "
        f"it needs master key(s) {', '.join(manifest.master_key_ids) or '(none yet)'}: keep a keyring with them"
    )


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("target")
@with_appcontext
def restore_command(directory: Path, target: str) -> None:
    """Restore the backup in DIRECTORY into the new database TARGET (a PostgreSQL URL) and check
    it with the configured keyring (CASEWORK_KEYRING)."""
    keyring_path = Path(current_app.config["CASEWORK"].keyring_path)
    restored = restore(directory, target, keyring_path)
    database = _postgres_url(target).database
    click.echo(
        f"restored {restored.cases} cases into {database}; all {restored.data_keys} data keys unwrap with "
        f"{keyring_path}. Serve it with CASEWORK_DATABASE_URL set to the new database."
    )
