"""The client address behind a proxy: taken from X-Forwarded-For only when the proxy is
configured as trusted (``CASEWORK_PROXY_HOPS``), and then only from the hops it set; a client
cannot spoof it. Sign-in throttling and audit events use that address."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def _failed_sign_in_address(app, client, environ: dict[str, str], headers: dict[str, str]) -> str | None:
    response = client.post(
        "/auth/login",
        data={"email": "nobody@example.org", "password": "wrong password 123"},
        environ_base=environ,
        headers=headers,
    )
    assert response.status_code == 401
    with app.app_context():
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "login.failure").order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one()
        return event.remote_addr


@pytest.mark.parametrize(
    ("hops", "remote", "forwarded", "expected"),
    [
        # No proxy trusted (the default): the socket's address, whatever the headers say.
        (0, "192.0.2.10", "203.0.113.66", "192.0.2.10"),
        # nginx appended the address it saw to the client's own (spoofed) entry: the last one.
        (1, "127.0.0.1", "203.0.113.66, 198.51.100.7", "198.51.100.7"),
        # Two trusted hops: the second-to-last entry; anything before it is the client's own.
        (2, "127.0.0.1", "203.0.113.66, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
        # Fewer entries than hops: nothing is believed.
        (2, "127.0.0.1", "198.51.100.7", "127.0.0.1"),
    ],
)
def test_the_address_comes_from_the_trusted_hops_only(make_app, hops, remote, forwarded, expected):
    app = make_app(proxy_hops=hops)
    address = _failed_sign_in_address(
        app,
        app.test_client(),
        {"REMOTE_ADDR": remote},
        # Over HTTPS, Flask-WTF wants this site's Referer (tests/security/test_https_forms.py).
        {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https", "Referer": "https://localhost/auth/login"},
    )
    assert address == expected


def test_failed_sign_ins_from_one_address_do_not_throttle_another(make_app, make_user):
    app = make_app(proxy_hops=1, login_ip_max_attempts=3)
    user = make_user("caseworker")
    client = app.test_client()
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    for _ in range(3):
        wrong = client.post(
            "/auth/login", data={"email": "x@example.org", "password": "nope nope nope"}, headers=attacker
        )
        assert wrong.status_code == 401
    throttled = client.post("/auth/login", data={"email": user.email, "password": PASSWORD}, headers=attacker)
    assert throttled.status_code == 429
    other = app.test_client()
    signed_in = other.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert signed_in.status_code == 302


def test_hop_count_must_be_a_small_number(tmp_path):
    from casework.config import Config, ConfigError

    with pytest.raises(ConfigError):
        Config.from_env(tmp_path, environ={"CASEWORK_ENV": "testing", "CASEWORK_PROXY_HOPS": "-1"})
    with pytest.raises(ConfigError):
        Config.from_env(tmp_path, environ={"CASEWORK_ENV": "testing", "CASEWORK_PROXY_HOPS": "one"})
    cfg = Config.from_env(tmp_path, environ={"CASEWORK_ENV": "testing", "CASEWORK_PROXY_HOPS": "1"})
    assert cfg.proxy_hops == 1


def test_gunicorn_does_not_apply_forwarded_headers_itself():
    """ProxyFix (with the configured hops) is the one place forwarded headers are read; gunicorn
    trusting them too would make a client's X-Forwarded-Proto count when the app trusts no proxy."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert conf.forwarded_allow_ips == ""
    assert conf.secure_scheme_headers == {}
