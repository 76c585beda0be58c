from pathlib import Path

import pytest

from casework import ConfigError, create_app
from casework.config import Config
from casework.crypto.keyring import Keyring


def test_production_refuses_to_start_without_secrets(tmp_path: Path):
    with pytest.raises(ConfigError) as excinfo:
        create_app({"env": "production", "instance_path": tmp_path})
    message = str(excinfo.value)
    for name in ("CASEWORK_DATABASE_URL", "CASEWORK_SECRET_KEY", "CASEWORK_KEYRING", "CASEWORK_AUDIT_ANCHOR"):
        assert name in message


def test_production_refuses_a_short_secret(tmp_path: Path):
    keyring = tmp_path / "k.json"
    Keyring.generate().save(keyring)
    with pytest.raises(ConfigError, match="at least 32"):
        Config.from_env(
            tmp_path,
            environ={
                "CASEWORK_ENV": "production",
                "CASEWORK_DATABASE_URL": "sqlite://",
                "CASEWORK_SECRET_KEY": "short",
                "CASEWORK_KEYRING": str(keyring),
                "CASEWORK_AUDIT_ANCHOR": str(tmp_path / "anchor.log"),
            },
        )


def test_production_refuses_a_missing_keyring_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="names no file"):
        Config.from_env(
            tmp_path,
            environ={
                "CASEWORK_ENV": "production",
                "CASEWORK_DATABASE_URL": "sqlite://",
                "CASEWORK_SECRET_KEY": "x" * 40,
                "CASEWORK_KEYRING": str(tmp_path / "missing.json"),
                "CASEWORK_AUDIT_ANCHOR": str(tmp_path / "anchor.log"),
            },
        )


def test_production_does_not_create_a_keyring(tmp_path: Path):
    keyring = tmp_path / "k.json"
    Keyring.generate().save(keyring)
    app = create_app(
        Config.from_env(
            tmp_path,
            environ={
                "CASEWORK_ENV": "production",
                "CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "CASEWORK_SECRET_KEY": "x" * 40,
                "CASEWORK_KEYRING": str(keyring),
                "CASEWORK_AUDIT_ANCHOR": str(tmp_path / "anchor.log"),
            },
        )
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "x" * 40


def test_development_creates_random_instance_secrets_once(tmp_path: Path):
    first = Config.from_env(tmp_path, environ={})
    second = Config.from_env(tmp_path, environ={})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.database_url.startswith("sqlite:///")


def test_unknown_environment_and_keys_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError):
        Config.from_env(tmp_path, environ={"CASEWORK_ENV": "staging"})
    with pytest.raises(ConfigError, match="unknown configuration keys"):
        Config.from_env(tmp_path, environ={}, overrides={"secrett_key": "x"})


def test_config_is_frozen(tmp_path: Path):
    cfg = Config.from_env(tmp_path, environ={})
    with pytest.raises(AttributeError):
        cfg.secret_key = "changed"  # type: ignore[misc]


def _production(tmp_path: Path, **extra: str) -> Config:
    keyring = tmp_path / "k.json"
    if not keyring.exists():
        Keyring.generate().save(keyring)
    environ = {
        "CASEWORK_ENV": "production",
        "CASEWORK_DATABASE_URL": "sqlite://",
        "CASEWORK_SECRET_KEY": "x" * 40,
        "CASEWORK_KEYRING": str(keyring),
        "CASEWORK_AUDIT_ANCHOR": str(tmp_path / "anchor.log"),
        **extra,
    }
    return Config.from_env(tmp_path, environ=environ)


def test_secure_cookies_default_on_in_production_and_can_be_turned_off_explicitly(tmp_path: Path):
    assert _production(tmp_path).secure_cookies is True
    assert _production(tmp_path, CASEWORK_SECURE_COOKIES="0").secure_cookies is False


def test_keyring_can_be_created_without_the_app(tmp_path: Path):
    from casework.crypto.__main__ import main

    target = tmp_path / "new.json"
    assert main(["init", str(target)]) == 0
    assert Keyring.load(target).newest_key_id
    assert main(["init", str(target)]) == 1


def test_key_rotation_settings_are_read_from_the_environment(tmp_path: Path):
    import socket

    default = _production(tmp_path)
    assert (default.keyring_poll_seconds, default.backup_retention_days) == (5.0, None)
    assert default.node_name == socket.gethostname()
    cfg = _production(
        tmp_path,
        CASEWORK_KEYRING_POLL_SECONDS="2.5",
        CASEWORK_BACKUP_RETENTION_DAYS="35",
        CASEWORK_NODE_NAME="app-2",
    )
    assert (cfg.keyring_poll_seconds, cfg.backup_retention_days, cfg.node_name) == (2.5, 35, "app-2")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CASEWORK_BACKUP_RETENTION_DAYS", "thirty"),
        ("CASEWORK_BACKUP_RETENTION_DAYS", "-1"),
        ("CASEWORK_KEYRING_POLL_SECONDS", "soon"),
    ],
)
def test_bad_key_rotation_settings_stop_the_start(tmp_path: Path, variable: str, value: str):
    with pytest.raises(ConfigError, match=variable):
        _production(tmp_path, **{variable: value})


def test_tests_start_no_keyring_watcher_unless_asked(tmp_path: Path):
    assert Config.from_env(tmp_path, environ={"CASEWORK_ENV": "testing"}).keyring_poll_seconds == 0


def test_the_database_pool_keeps_a_connection_per_thread_and_two(tmp_path: Path):
    """One per gunicorn thread, the audit sequencer and the keyring watcher: with 6 threads and a
    pool of 5, a busy worker opened and dropped an overflow connection for every request past it."""
    assert _production(tmp_path).db_pool_size == 6  # gunicorn.conf.py's 4 threads when unset
    assert _production(tmp_path, CASEWORK_THREADS="6").db_pool_size == 8
    assert _production(tmp_path, CASEWORK_THREADS="6", CASEWORK_DB_POOL_SIZE="12").db_pool_size == 12


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CASEWORK_DB_POOL_SIZE", "many"), ("CASEWORK_DB_POOL_SIZE", "0"), ("CASEWORK_THREADS", "-2")],
)
def test_bad_pool_settings_stop_the_start(tmp_path: Path, variable: str, value: str):
    with pytest.raises(ConfigError, match=variable):
        _production(tmp_path, **{variable: value})
