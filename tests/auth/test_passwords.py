"""Password policy (12-128 characters, any characters, no common passwords), argon2id storage,
and password change (needs the current password)."""

from __future__ import annotations

import pytest

from casework.auth import passwords
from casework.auth.models import User
from casework.db import session


def test_too_short(app):
    with app.app_context(), pytest.raises(passwords.PasswordPolicyError, match="at least 12"):
        passwords.check_policy("elevenchars")


def test_twelve_characters_are_enough(app):
    with app.app_context():
        passwords.check_policy("twelve chars")


def test_too_long(app):
    with app.app_context():
        passwords.check_policy("a long passphrase " * 7 + "ab")  # 128
        with pytest.raises(passwords.PasswordPolicyError, match="at most 128"):
            passwords.check_policy("a long passphrase " * 7 + "abc")  # 129


def test_long_passphrases_are_allowed(app):
    with app.app_context():
        passwords.check_policy("correct horse battery staple and a slow blue river at dawn 7777")  # 64


@pytest.mark.parametrize("common", ["123qweasdzxc", "1QAZ2WSX3EDC", "aaaaaaaaaaaaaaaa", "abababababab"])
def test_common_or_trivial(app, common):
    with app.app_context(), pytest.raises(passwords.PasswordPolicyError, match="too common or too simple"):
        passwords.check_policy(common)


def test_any_unicode_and_spaces_are_allowed(app):
    with app.app_context():
        for password in (
            "пароль для входа 2026",
            "我的密码是一个很长的句子吗",
            "  spaces  inside  ",
            "émoji 🙂 pass phrase",
        ):
            passwords.check_policy(password)
            assert passwords.verify_password(passwords.hash_password(password), password)


def test_stored_as_argon2id_and_never_truncated(app):
    with app.app_context():
        password = "".join(f"word{number} " for number in range(20))[:120]
        stored = passwords.hash_password(password)
        assert stored.startswith("$argon2id$") and password not in stored
        assert passwords.verify_password(stored, password)
        assert not passwords.verify_password(stored, password[:-1])
        assert not passwords.verify_password(stored, password[:72])


def test_same_password_gives_different_hashes(app):
    with app.app_context():
        assert passwords.hash_password("same password here") != passwords.hash_password("same password here")


@pytest.mark.parametrize(
    ("new", "message"),
    [("short", "at least 12"), ("x1" * 65, "at most 128"), ("1qaz2wsx3edc", "too common")],
)
def test_change_password_policy_on_the_form(app, client, make_user, login, new, message):
    user = make_user("caseworker")
    login(client, user)
    response = client.post(
        "/auth/password", data={"current_password": user.test_password, "new_password": new, "confirm": new}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert session.get(User, user.id).password_hash == user.password_hash


def test_change_password_needs_the_current_one(app, client, make_user, login):
    user = make_user("caseworker")
    login(client, user)
    response = client.post(
        "/auth/password",
        data={
            "current_password": "not my password",
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 400
    assert "current password is incorrect" in response.get_data(as_text=True)
    with app.app_context():
        assert session.get(User, user.id).password_hash == user.password_hash


def test_change_password_works(app, client, make_user, login):
    user = make_user("caseworker")
    login(client, user)
    new = "a brand new passphrase"
    response = client.post(
        "/auth/password", data={"current_password": user.test_password, "new_password": new, "confirm": new}
    )
    assert response.status_code == 302
    assert client.get("/reports/").status_code == 200  # this session continues
    fresh = app.test_client()
    assert fresh.post("/auth/login", data={"email": user.email, "password": new}).status_code == 302
