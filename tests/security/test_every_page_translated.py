"""Every page, in every language, for the users who see it: no English left on a translated page.

Every GET route of the URL map is opened by up to two users it is meant for (from the access
matrix's world: each role, each case relation), in every interface language. A text node (or a
label-like attribute) of the rendered page that is exactly an English msgid whose translation in
that language differs is a string that escaped translation: an untranslated catalogue entry, a
string formatted before the locale was known, a label cached in the wrong language. The page
also says its language and direction (``<html lang dir>``).
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser

import pytest

from casework.access import ROLE_PERMISSIONS, Role
from casework.cases.tabs import TABS
from tests.i18n.catalogs import catalog, extracted_ids, forms
from tests.security.conftest import ROLE_OF, World
from tests.security.test_access_matrix import endpoints, expected, fill, rule_of

LANGUAGES = ("en", "fr", "es", "ar", "ru")
RIGHT_TO_LEFT = frozenset({"ar"})
#: Who opens each page, in this order of preference, and the case each one opens.
VISITORS = ("supervisor", "caseworker", "partner", "admin", "operator", "researcher")
RELATIONS = ("assignee", "partner", "referred_pending")
USER_RELATIONS = ("own_user", "own_admin")
#: Query strings that make a GET form show its result rather than the empty form (the case
#: file is opened once per tab).
QUERIES = {"partners.summary_page": "?recipient=victim", "cases.search": "?name=Given&date_of_birth="}
#: Attributes a reader (or a screen reader) is given as text.
TEXT_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
NOT_PAGES = frozenset({"core.health", "core.ready", "exports.download", "partners.summary_pdf"})


@functools.cache
def untranslated_in(language: str) -> frozenset[str]:
    """English msgids (in the catalogue, or in the code and templates now) that ``language`` does
    not render as they are: shown as is, they are English. A msgid translated identically ("k",
    "SHA-256") is not one of them; one with no translation at all is."""
    translations: dict[str, str] = {}
    for message in catalog(language):
        if message.id:
            for english, translated in zip(forms(message.id), forms(message.string), strict=False):
                translations[english] = translated
    english_ids = {english for message_id in extracted_ids() for english in forms(message_id)} | set(translations)
    return frozenset(e for e in english_ids if translations.get(e) != e and "%(" not in e and e.strip())


class _Texts(HTMLParser):
    """The text nodes and text attributes of a page, outside scripts, styles and any element
    marked as another language (each language of the picker is in its own)."""

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.html_attrs: dict[str, str | None] = {}

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_attrs = found
            return
        other_language = found.get("lang") not in (None, self.language)
        void = tag in ("input", "img", "meta", "link", "br", "hr", "source", "col", "wbr")
        if not void:
            self.stack.append((tag, tag in ("script", "style") or other_language))
        if not self._skipping() and not other_language:
            self.texts.extend(value.strip() for name, value in attrs if name in TEXT_ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._skipping() and data.strip():
            self.texts.append(" ".join(data.split()))


def visits(world: World) -> list[tuple[str, str, str]]:
    """(endpoint, user, URL) of every page, for up to two users it is meant for."""
    found = []
    for ep in endpoints():
        if ep.method != "GET" or ep.endpoint in NOT_PAGES:
            continue
        rule = rule_of(ep.endpoint)
        assert rule is not None
        if rule.public:
            found.append((ep.endpoint, "anonymous", fill(world, ep, None, "assignee")))
            if ep.endpoint != "auth.login":
                continue
        users: list[tuple[str, str]] = []
        for role in VISITORS:
            if rule.permission is not None and rule.permission not in ROLE_PERMISSIONS[Role(ROLE_OF[role])]:
                continue
            for relation in USER_RELATIONS if ep.user_relational else RELATIONS if ep.case_relational else ("-",):
                if expected(role, relation, ep, rule):
                    users.append((role, relation))
                    break
            if len(users) == 2:
                break
        queries = [f"?tab={tab}" for tab in TABS] if ep.endpoint == "cases.view" else [QUERIES.get(ep.endpoint, "")]
        for role, relation in users:
            found.extend((ep.endpoint, role, fill(world, ep, role, relation) + query) for query in queries)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_is_wholly_in_its_language(world: World, language: str) -> None:
    english = untranslated_in(language) if language != "en" else frozenset()
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    left_in_english: list[str] = []
    opened = 0
    for endpoint, user, url in visits(world):
        client = world.client(None if user == "anonymous" else user)
        response = client.get(url, headers={"Accept-Language": language})
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        opened += 1
        page = _Texts(language)
        page.feed(response.get_data(as_text=True))
        assert (page.html_attrs.get("lang"), page.html_attrs.get("dir")) == (language, direction), url
        left_in_english += [f"{endpoint} as {user}: {text!r}" for text in page.texts if text in english]
    assert opened >= 35, "fewer pages opened than the app has: has the world changed?"
    assert left_in_english == []
