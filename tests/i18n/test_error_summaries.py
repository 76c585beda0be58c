"""The error summary at the top of a refused form says each message whole, in the reader's
language: a lazily translated message (WTForms keeps ``lazy_gettext`` messages as they are) used
to be taken for a list and spelt out letter by letter ("U s e d i g i t s ...")."""

from __future__ import annotations

import html
import re

import pytest
from flask_babel import force_locale, gettext

from tests.cases.conftest import registration_data

LANGUAGES = ["en", "fr", "es"]


def summary_items(response) -> list[str]:
    """The text of each item of the page's error summary, tags removed, entities decoded."""
    page = response.get_data(as_text=True)
    match = re.search(r'<div class="error-summary".*?<ul>(.*?)</ul>', page, re.S)
    assert match, "the page has no error summary"
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


def translated(app, language: str, message: str, **values) -> str:
    with app.test_request_context(), force_locale(language):
        return gettext(message, **values)


def assert_whole(items: list[str], label: str, message: str) -> None:
    expected = " ".join(f"{label} {message}".split())
    assert any(item == expected for item in items), f"{expected!r} not in {items!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_registration_summary_says_each_message_whole(app, client, login, make_user, language):
    user = make_user("caseworker")
    login(client, user)
    client.post("/language", data={"language": language, "next": "/"})
    data = registration_data(phone="call me", email="not an address", age_at_registration="old")
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400
    items = summary_items(response)
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Phone number")),
        translated(app, language, "Use digits, spaces and + ( ) - . / only."),
    )
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Email address")),
        translated(app, language, "Enter an email address like name@example.org."),
    )
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Age at registration")),
        translated(app, language, "Enter a whole number."),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_user_summary_says_each_message_whole(app, client, login, make_user, language):
    admin = make_user("admin")
    login(client, admin)
    client.post("/language", data={"language": language, "next": "/"})
    response = client.post(
        "/admin/users/new",
        data={"display_name": "New Person", "email": "no-at-sign", "role": "caseworker", "organisation_id": ""},
    )
    assert response.status_code == 400
    items = summary_items(response)
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Email")),
        translated(app, language, "Enter a valid email address."),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_export_summary_says_each_message_whole(app, client, login, make_user, language):
    from casework.exports import services

    researcher = make_user("researcher")
    login(client, researcher)
    client.post("/language", data={"language": language, "next": "/"})
    response = client.post("/exports/table", data={"threshold": "0", "rounding": "none"})
    assert response.status_code == 400
    items = summary_items(response)
    with app.app_context():
        minimum = services.current_settings().min_threshold
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Count by")),
        translated(app, language, "Choose at least one dimension."),
    )
    assert_whole(
        items,
        translated(app, language, "%(label)s:", label=translated(app, language, "Smallest count published")),
        translated(app, language, "Enter a number from %(min)s to %(max)s.", min=minimum, max=services.MAX_THRESHOLD),
    )
