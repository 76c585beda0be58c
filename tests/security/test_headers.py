"""Security headers on every kind of response (page, redirect, error page, static file, JSON),
and no caching of anything but static files."""

from __future__ import annotations

import pytest

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_protective_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/auth/login", 200),  # page
        ("get", "/reports/", 302),  # redirect to sign in
        ("get", "/no/such/page", 404),  # error page
        ("post", "/health", 405),  # error page
        ("get", "/health", 200),  # JSON
        ("get", "/static/css/casework.css", 200),  # static
        ("get", "/static/js/casework.js", 200),  # static
    ],
)
def test_headers_on_every_response_type(client, method, url, status):
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert_protective_headers(response)


def test_pages_are_never_cached_but_static_files_may_be(client):
    page = client.get("/auth/login")
    assert page.headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/casework.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_case_pages_are_never_cached(app, client, make_org, make_user, make_case, login):
    org = make_org()
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    login(client, worker)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    assert_protective_headers(response)


def test_error_page_for_signed_in_user_has_headers(client, make_user, login):
    login(client, make_user("researcher"))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert_protective_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_pages(client, make_user, login):
    login(client, make_user("admin"))
    for url in ("/admin/", "/admin/users", "/admin/users/new", "/admin/organisations", "/audit/"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page, url
        assert " onclick=" not in page and " onsubmit=" not in page, url


def test_no_hsts_over_plain_http_in_development(client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers


def test_the_app_sends_no_hsts_even_over_https(make_app):
    """nginx sends Strict-Transport-Security (deploy/nginx/casework.conf), on every answer
    including its own error pages; the app sending it too made two headers."""
    app = make_app(proxy_hops=1, secure_cookies=True)
    response = app.test_client().get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
