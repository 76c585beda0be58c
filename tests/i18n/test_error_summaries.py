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


def summary_in(client, login, user, language: str, path: str, data: dict) -> list[str]:
    """Post ``data`` to ``path`` as ``user`` reading ``language``: the error summary's items."""
    login(client, user)
    client.post("/language", data={"language": language, "next": "/"})
    response = client.post(path, data=data)
    assert response.status_code == 400
    return summary_items(response)


def assert_whole(app, language: str, items: list[str], label: str, message: str, **values) -> None:
    """``label: message`` in ``language``, each whole, is one item of the summary."""
    expected = translated(app, language, "%(label)s:", label=translated(app, language, label))
    expected += " " + translated(app, language, message, **values)
    expected = " ".join(expected.split())
    assert any(item == expected for item in items), f"{expected!r} not in {items!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_registration_summary_says_each_message_whole(app, client, login, make_user, language):
    data = registration_data(phone="call me", email="not an address", age_at_registration="old")
    items = summary_in(client, login, make_user("caseworker"), language, "/cases/new", data)
    assert_whole(app, language, items, "Phone number", "Use digits, spaces and + ( ) - . / only.")
    assert_whole(app, language, items, "Email address", "Enter an email address like name@example.org.")
    assert_whole(app, language, items, "Age at registration", "Enter a whole number.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_user_summary_says_each_message_whole(app, client, login, make_user, language):
    data = {"display_name": "New Person", "email": "no-at-sign", "role": "caseworker", "organisation_id": ""}
    items = summary_in(client, login, make_user("admin"), language, "/admin/users/new", data)
    assert_whole(app, language, items, "Email", "Enter a valid email address.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_export_summary_says_each_message_whole(app, client, login, make_user, language):
    from casework.exports import policy

    data = {"threshold": "0", "rounding": "none"}
    items = summary_in(client, login, make_user("researcher"), language, "/exports/table", data)

    assert_whole(app, language, items, "Count by", "Choose at least one dimension.")
    message = "Enter a number from %(min)s to %(max)s."
    assert_whole(
        app, language, items, "Smallest count published", message, min=policy.FLOOR_THRESHOLD, max=policy.MAX_THRESHOLD
    )
