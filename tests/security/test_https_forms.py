"""Forms over HTTPS behind the proxy. Flask-WTF's SSL-strict check refuses an HTTPS POST whose
Referer is not this site; the referrer policy ``same-origin`` makes browsers send the Referer
to this site only (never to another one), so sign-in works and nothing leaks elsewhere."""

from __future__ import annotations

from tests.conftest import PASSWORD

HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}


def test_the_referrer_policy_is_same_origin_in_header_and_page(client):
    page = client.get("/auth/login")
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.get_data(as_text=True)


def test_sign_in_over_https_with_the_same_origin_referer(make_app, make_user):
    app = make_app(proxy_hops=1)
    user = make_user("caseworker")
    client = app.test_client()
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD},
        headers={**HTTPS, "Referer": "https://localhost/auth/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_https_posts_without_this_sites_referer_are_refused(make_app, make_user):
    app = make_app(proxy_hops=1)
    user = make_user("caseworker")
    client = app.test_client()
    for referer in (None, "https://evil.example/auth/login", "http://localhost/auth/login"):
        headers = dict(HTTPS)
        if referer:
            headers["Referer"] = referer
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD}, headers=headers)
        assert response.status_code == 400, referer
        assert "Your form expired" in response.get_data(as_text=True)
