"""Typed, frozen configuration read from ``CASEWORK_*`` environment variables.

Production refuses to start without its secrets; development creates random ones under the
instance folder (with a loud warning) instead of ever falling back to a value in source.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Environment = Literal["development", "production", "testing"]
ENVIRONMENTS: tuple[str, ...] = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """The configuration is missing or invalid; the app must not start."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the application reads from its environment, validated once at start-up."""

    env: Environment
    instance_path: Path
    database_url: str
    secret_key: str
    keyring_path: Path
    # The audit log's anchor: an append-only file outside the database and its backups, where
    # the sequencer appends every signed checkpoint (CASEWORK_AUDIT_ANCHOR).
    audit_anchor_path: Path = Path("audit-anchor.log")
    # Argon2id cost: the defaults follow OWASP's recommendation; tests use a cheap setting.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_ip_max_attempts: int = 30
    login_ip_window_minutes: int = 15
    secure_cookies: bool = False
    # Emergency (break-glass) accesses one supervisor may be granted per day (UTC).
    break_glass_daily_cap: int = 3
    # How many proxies in front of the app set X-Forwarded-For/-Proto (nginx: 1). 0 trusts no
    # forwarded header: the client address is the socket's, and a client cannot claim another.
    proxy_hops: int = 0
    wtf_csrf_enabled: bool = True
    languages: tuple[str, ...] = ("en", "fr", "es", "ar", "ru")
    sql_echo: bool = False
    # Connections each process's pool keeps open (PostgreSQL): one per request thread plus the
    # audit sequencer and the keyring watcher, so that a busy worker does not open and drop an
    # overflow connection (a new server process, its statements unprepared) for every request
    # past the pool. Default: CASEWORK_THREADS (gunicorn's, 4 when unset) + 2.
    db_pool_size: int = 6
    # Master-key rotation (casework.crypto.watch, casework.crypto.rotation): how often each
    # process re-reads its keyring file and reports (0: never, the testing default), the name
    # it reports as, and how long backups are kept (None: unknown, `keys retire` then asks).
    keyring_poll_seconds: float = 5.0
    node_name: str = field(default_factory=socket.gethostname)
    backup_retention_days: int | None = None
    # Case documents (casework.documents): the largest file accepted, and where ciphertext is
    # kept: "files" (under the instance folder), "database" (a table: every host of a deployment
    # shares it) or "auto" (the database on PostgreSQL, files on SQLite).
    document_max_bytes: int = 25 * 1024 * 1024
    document_store: str = "auto"
    # The audit sequencer thread in each app process (works only while it holds the lease):
    # off in tests, which call casework.audit.sequencer.integrate_pending() themselves.
    audit_sequencer: bool = True
    # Also send every checkpoint to syslog (CASEWORK_AUDIT_SYSLOG: a socket path such as
    # /dev/log, or host:port over UDP), a second anchor the database's writer cannot rewrite.
    audit_syslog: str | None = None
    audit_sequencer_interval: float = 1.0
    # Reminders (casework.notifications.jobs): how often each process's ticker looks for a due
    # daily job (0: never, the testing default; the job runs once per day per deployment
    # whatever the number of processes), and the optional e-mail digest over SMTP (no host: no
    # e-mail). ``base_url`` makes the digest's links absolute.
    jobs_ticker_seconds: float = 300.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    base_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def replace(self, **changes: Any) -> Config:
        """A copy with some values changed (for tests and CLI tools)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        instance_path: Path,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Config:
        """Build the configuration from the environment, then apply ``overrides``.

        Raises ConfigError when a production start lacks a secret, a key file or a database.
        """
        env_vars = os.environ if environ is None else environ
        overrides = dict(overrides or {})
        env = overrides.pop("env", None) or env_vars.get("CASEWORK_ENV", "development")
        if env not in ENVIRONMENTS:
            raise ConfigError(f"CASEWORK_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        instance_path = Path(overrides.pop("instance_path", instance_path))

        database_url = overrides.pop("database_url", None) or env_vars.get("CASEWORK_DATABASE_URL")
        secret_key = overrides.pop("secret_key", None) or env_vars.get("CASEWORK_SECRET_KEY")
        keyring = overrides.pop("keyring_path", None) or env_vars.get("CASEWORK_KEYRING")
        anchor = overrides.pop("audit_anchor_path", None) or env_vars.get("CASEWORK_AUDIT_ANCHOR")

        if env == "production":
            missing = [
                name
                for name, value in (
                    ("CASEWORK_DATABASE_URL", database_url),
                    ("CASEWORK_SECRET_KEY", secret_key),
                    ("CASEWORK_KEYRING", keyring),
                    ("CASEWORK_AUDIT_ANCHOR", anchor),
                )
                if not value
            ]
            if missing:
                raise ConfigError(
                    "production start refused: set " + ", ".join(missing) + " (no defaults in production)"
                )
            if secret_key is None or keyring is None or anchor is None:  # unreachable: for the type checker
                raise ConfigError("production start refused: missing secret")
            if len(secret_key) < 32:
                raise ConfigError("CASEWORK_SECRET_KEY must be at least 32 characters")
            if not Path(keyring).is_file():
                raise ConfigError(f"CASEWORK_KEYRING names no file: {keyring}")
            if "CASEWORK_SECURE_COOKIES" not in env_vars:
                overrides.setdefault("secure_cookies", True)
        else:
            # The instance folder holds the development database, keyring and secret: owner only.
            instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not database_url:
                database_url = f"sqlite:///{instance_path / 'casework.sqlite3'}"
            if not secret_key:
                secret_key = _instance_secret(instance_path / "secret_key")
            if not keyring:
                keyring = str(instance_path / "keyring.json")
            if not anchor:
                anchor = str(instance_path / "audit-anchor.log")

        bools = {
            "secure_cookies": "CASEWORK_SECURE_COOKIES",
            "sql_echo": "CASEWORK_SQL_ECHO",
            "audit_sequencer": "CASEWORK_AUDIT_SEQUENCER",
        }
        for name, var in bools.items():
            if name not in overrides and var in env_vars:
                overrides[name] = env_vars[var].lower() in ("1", "true", "yes", "on")

        _rotation_settings(env, env_vars, overrides)
        _pool_settings(env_vars, overrides)
        _reminder_settings(env, env_vars, overrides)
        ints = {"break_glass_daily_cap": "CASEWORK_BREAK_GLASS_DAILY_CAP"}
        for name, var in ints.items():
            if name not in overrides and var in env_vars:
                try:
                    overrides[name] = int(env_vars[var])
                except ValueError:
                    raise ConfigError(f"{var} must be a whole number, not {env_vars[var]!r}") from None
        if int(overrides.get("break_glass_daily_cap", 1)) < 0:
            raise ConfigError("CASEWORK_BREAK_GLASS_DAILY_CAP cannot be negative")
        _document_settings(env_vars, overrides)
        if "audit_syslog" not in overrides and env_vars.get("CASEWORK_AUDIT_SYSLOG"):
            overrides["audit_syslog"] = env_vars["CASEWORK_AUDIT_SYSLOG"]
        if "proxy_hops" not in overrides and "CASEWORK_PROXY_HOPS" in env_vars:
            overrides["proxy_hops"] = env_vars["CASEWORK_PROXY_HOPS"]
        if "proxy_hops" in overrides:
            overrides["proxy_hops"] = _proxy_hops(overrides["proxy_hops"])

        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
        return cls(
            env=env,  # type: ignore[arg-type]
            instance_path=instance_path,
            database_url=database_url,
            secret_key=secret_key,
            keyring_path=Path(keyring),
            audit_anchor_path=Path(str(anchor)),
            **overrides,
        )


def _non_negative_numbers(
    numbers: Mapping[str, tuple[str, type]], env_vars: Mapping[str, str], overrides: dict[str, Any]
) -> None:
    """Read each setting ``name: (VARIABLE, int or float)`` not overridden. Raises ConfigError
    on a value that is not a number or is negative."""
    for name, (var, kind) in numbers.items():
        if name not in overrides and env_vars.get(var, "").strip():
            try:
                overrides[name] = kind(env_vars[var])
            except ValueError:
                raise ConfigError(f"{var} must be a number, not {env_vars[var]!r}") from None
            if overrides[name] < 0:
                raise ConfigError(f"{var} cannot be negative")


def _pool_settings(env_vars: Mapping[str, str], overrides: dict[str, Any]) -> None:
    """CASEWORK_DB_POOL_SIZE, else CASEWORK_THREADS + 2. Raises ConfigError on a value that is
    not a number, or a pool of fewer than one connection."""
    _non_negative_numbers(
        {"db_pool_size": ("CASEWORK_DB_POOL_SIZE", int), "threads": ("CASEWORK_THREADS", int)}, env_vars, overrides
    )
    threads = overrides.pop("threads", None)
    if "db_pool_size" not in overrides and threads is not None:
        overrides["db_pool_size"] = threads + 2
    if overrides.get("db_pool_size", 1) < 1:
        raise ConfigError("CASEWORK_DB_POOL_SIZE must be at least 1")


def _rotation_settings(env: str, env_vars: Mapping[str, str], overrides: dict[str, Any]) -> None:
    """CASEWORK_KEYRING_POLL_SECONDS, CASEWORK_NODE_NAME, CASEWORK_BACKUP_RETENTION_DAYS."""
    numbers: dict[str, tuple[str, type]] = {
        "keyring_poll_seconds": ("CASEWORK_KEYRING_POLL_SECONDS", float),
        "backup_retention_days": ("CASEWORK_BACKUP_RETENTION_DAYS", int),
    }
    _non_negative_numbers(numbers, env_vars, overrides)
    # Tests build many apps in one process: they start a watcher only when they ask for one.
    if env == "testing":
        overrides.setdefault("keyring_poll_seconds", 0.0)
    if "node_name" not in overrides and env_vars.get("CASEWORK_NODE_NAME", "").strip():
        overrides["node_name"] = env_vars["CASEWORK_NODE_NAME"].strip()


DOCUMENT_STORES = ("auto", "files", "database")


def _document_settings(env_vars: Mapping[str, str], overrides: dict[str, Any]) -> None:
    """CASEWORK_DOCUMENT_MAX_BYTES and CASEWORK_DOCUMENT_STORE. Raises ConfigError."""
    if "document_max_bytes" not in overrides and env_vars.get("CASEWORK_DOCUMENT_MAX_BYTES", "").strip():
        value = env_vars["CASEWORK_DOCUMENT_MAX_BYTES"]
        try:
            overrides["document_max_bytes"] = int(value)
        except ValueError:
            raise ConfigError(f"CASEWORK_DOCUMENT_MAX_BYTES must be a whole number, not {value!r}") from None
    if int(overrides.get("document_max_bytes", 1)) < 1:
        raise ConfigError("CASEWORK_DOCUMENT_MAX_BYTES must be at least 1")
    if "document_store" not in overrides and env_vars.get("CASEWORK_DOCUMENT_STORE", "").strip():
        overrides["document_store"] = env_vars["CASEWORK_DOCUMENT_STORE"].strip()
    if overrides.get("document_store", "auto") not in DOCUMENT_STORES:
        raise ConfigError(f"CASEWORK_DOCUMENT_STORE must be one of {', '.join(DOCUMENT_STORES)}")


def _reminder_settings(env: str, env_vars: Mapping[str, str], overrides: dict[str, Any]) -> None:
    """CASEWORK_JOBS_TICKER_SECONDS, CASEWORK_SMTP_HOST/PORT/FROM/USER/PASSWORD/STARTTLS,
    CASEWORK_BASE_URL."""
    texts = {
        "smtp_host": "CASEWORK_SMTP_HOST",
        "smtp_from": "CASEWORK_SMTP_FROM",
        "smtp_user": "CASEWORK_SMTP_USER",
        "smtp_password": "CASEWORK_SMTP_PASSWORD",
        "base_url": "CASEWORK_BASE_URL",
    }
    for name, var in texts.items():
        if name not in overrides and env_vars.get(var, "").strip():
            overrides[name] = env_vars[var].strip()
    numbers: dict[str, tuple[str, type]] = {
        "smtp_port": ("CASEWORK_SMTP_PORT", int),
        "jobs_ticker_seconds": ("CASEWORK_JOBS_TICKER_SECONDS", float),
    }
    _non_negative_numbers(numbers, env_vars, overrides)
    if "smtp_starttls" not in overrides and "CASEWORK_SMTP_STARTTLS" in env_vars:
        overrides["smtp_starttls"] = env_vars["CASEWORK_SMTP_STARTTLS"].lower() in ("1", "true", "yes", "on")
    if overrides.get("smtp_host") and not overrides.get("smtp_from"):
        raise ConfigError("CASEWORK_SMTP_HOST needs CASEWORK_SMTP_FROM (the digest's sender address)")
    if env == "testing":
        overrides.setdefault("jobs_ticker_seconds", 0.0)


MAX_PROXY_HOPS = 5


def _proxy_hops(value: Any) -> int:
    """A hop count from 0 to MAX_PROXY_HOPS. Raises ConfigError otherwise."""
    try:
        hops = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"CASEWORK_PROXY_HOPS must be a whole number, not {value!r}") from None
    if not 0 <= hops <= MAX_PROXY_HOPS:
        raise ConfigError(f"CASEWORK_PROXY_HOPS must be between 0 and {MAX_PROXY_HOPS}")
    return hops


def _instance_secret(path: Path) -> str:
    """Read, or create once, a random secret kept in the (untracked) instance folder."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    log.warning(
        "DEVELOPMENT ONLY: created a random session secret in %s. "
        "Set CASEWORK_SECRET_KEY and CASEWORK_ENV=production for a real deployment.",
        path,
    )
    return value
