"""Which language a page is in: the user's choice (kept on the account), else the browser's."""

from __future__ import annotations

import re

import pytest

from casework.auth.models import User
from casework.db import session


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page has no <html lang>"
    return match.group(1)


@pytest.mark.parametrize(
    ("accept_language", "lang", "title", "password_label"),
    [
        ("fr", "fr", "Se connecter", "Mot de passe"),
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Se connecter", "Mot de passe"),
        ("es-ES,es;q=0.9", "es", "Iniciar sesión", "Contraseña"),
        ("de-DE,de;q=0.9", "en", "Sign in", "Password"),
    ],
)
def test_login_page_follows_the_browser(client, accept_language, lang, title, password_label):
    response = client.get("/auth/login", headers={"Accept-Language": accept_language})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert html_lang(response) == lang
    assert f"<title>{title}" in page
    assert f">{password_label}</label>" in page


def test_failed_sign_in_message_is_translated(client, make_user):
    user = make_user("caseworker")
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": "not the password at all"},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 401
    assert "L&#39;adresse e-mail ou le mot de passe est incorrect" in response.get_data(as_text=True)


def test_switching_language_while_signed_in_persists(app, client, make_user, login):
    user = make_user("caseworker")
    login(client, user)
    assert html_lang(client.get("/cases/", headers={"Accept-Language": "fr"})) == "fr"

    response = client.post("/language", data={"language": "es", "next": "/cases/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases/")
    # The user's choice wins over the browser's preference, on this request and the next ones.
    page = client.get("/cases/", headers={"Accept-Language": "fr"})
    assert html_lang(page) == "es"
    assert "<h1>Casos</h1>" in page.get_data(as_text=True)
    assert html_lang(client.get("/reports/", headers={"Accept-Language": "en"})) == "es"
    with app.app_context():
        assert session.get(User, user.id).language == "es"

    # A new session (another browser) signs in and gets Spanish from the account.
    other = app.test_client()
    login(other, user)
    assert "Panel" in other.get("/reports/", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_anonymous_choice_is_kept_in_the_session(client):
    response = client.post("/language", data={"language": "fr", "next": "/auth/login"})
    assert response.status_code == 302
    page = client.get("/auth/login", headers={"Accept-Language": "es"})
    assert html_lang(page) == "fr"


def test_unknown_language_and_foreign_redirects_are_ignored(client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response.headers["Location"].startswith("https://evil.example")
    assert html_lang(client.get("/auth/login")) == "en"


def test_switching_language_needs_the_form_token(client, make_user, login):
    user = make_user("caseworker")
    login(client, user)
    assert client.post("/language", data={"language": "es"}, csrf=False).status_code == 400
    assert html_lang(client.get("/cases/")) == "en"
