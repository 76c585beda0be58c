"""Playwright on Debian's chromium, shared by the browser tests (tests/browser) and the
deployment test (tests/deploy): the browser, pages whose console is watched (an error or a
Content-Security-Policy violation fails the test), and screenshots of a failed test's pages.

A conftest imports ``browser`` and ``pytest_runtest_makereport`` (so that pytest registers
them there) and builds its ``browsing`` fixture with :func:`watched`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# Runs in the page once it has loaded, once per document: the serious and critical violations.
AXE_RUN = """async () => {
  if (!window.axe || window.__caseworkAxe) return null;
  window.__caseworkAxe = true;
  const result = await window.axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")}`);
}"""
# Page methods that only listen or wait for something the test is about to cause.
UNCHECKED_METHODS = frozenset({"on", "once", "remove_listener", "wait_for_event", "close", "is_closed"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """Command-line switches for chromium (a conftest may add its own)."""
    return list(CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def browser(chromium_args: list[str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args)
        yield chromium
        chromium.close()


@dataclass
class Browsing:
    """Browser contexts (one per signed-in person) whose pages are watched."""

    browser: Any
    base_url: str
    #: Extra Playwright context options, e.g. ``ignore_https_errors`` for a self-signed certificate.
    context_options: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)
    checked: list[str] = field(default_factory=list)  # pages axe checked (path and width)

    def new_page(self, locale: str = "en-GB", width: int | None = None, height: int = 900) -> Any:
        """A page in a context of its own (its own sign-in), ``width`` CSS pixels wide if given."""
        options: dict[str, Any] = {"base_url": self.base_url, "locale": locale, **self.context_options}
        if width is not None:
            options["viewport"] = {"width": width, "height": height}
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(path=str(AXE))
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return CheckedPage(page, self)

    def check_accessibility(self, page: Any) -> None:
        """axe-core over the page's document, once per document, when it has loaded; serious
        and critical violations are problems. A document the page already left is skipped."""
        if not page.url.startswith(self.base_url):
            return  # about:blank before the first visit, a download
        try:
            page.wait_for_load_state("load")
            violations = page.evaluate(AXE_RUN)
        except Exception as exc:  # noqa: BLE001 - the page moved on (a form submitted itself)
            if "destroyed" in str(exc) or "navigat" in str(exc) or "closed" in str(exc):
                return
            raise
        if violations is None:
            return
        where = page.url.removeprefix(self.base_url)
        self.checked.append(f"{where} @{page.viewport_size['width'] if page.viewport_size else '?'}px")
        self.problems.extend(f"accessibility: {where}: {violation}" for violation in violations)

    def expect_status(self, status: int) -> None:
        """A 4xx page the test asks for (e.g. the 409 conflict page) is not a console problem."""
        self.expected_statuses.add(status)

    def _on_console(self, message: Any) -> None:
        if message.type not in ("error", "warning"):
            return
        text = message.text
        if any(f"status of {status}" in text for status in self.expected_statuses):
            return
        if message.location.get("url", "").endswith("/favicon.ico"):
            return  # the browser asks for it by itself; the app has none (a 404, not a page error)
        self.problems.append(f"console {message.type}: {text}")

    def assert_clean(self) -> None:
        csp = [p for p in self.problems if "Content Security Policy" in p]
        assert csp == [], "CSP violations"
        accessibility = [p for p in self.problems if p.startswith("accessibility:")]
        assert accessibility == [], "serious or critical accessibility violations"
        assert self.problems == [], "console errors"
        assert self.checked or not self.contexts, "no page was checked for accessibility"

    def screenshots(self, directory: Path) -> list[Path]:
        saved = []
        for i, context in enumerate(self.contexts):
            for j, page in enumerate(context.pages):
                path = directory / f"context{i}-page{j}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                except Exception:  # noqa: BLE001, S112 - a closed page has nothing to show
                    continue
                saved.append(path)
        return saved


class CheckedPage:
    """A Playwright page whose every document is checked for accessibility: before and after
    each call a test makes, a document not yet checked is (so the page a test leaves, and the
    one it lands on, are both checked whatever the test does next)."""

    def __init__(self, page: Any, browsing: Browsing) -> None:
        self._page = page
        self._browsing = browsing

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._page, name)
        if not callable(attribute) or name in UNCHECKED_METHODS or name.startswith("expect_"):
            return attribute

        def checked(*args: Any, **kwargs: Any) -> Any:
            self._browsing.check_accessibility(self._page)
            result = attribute(*args, **kwargs)
            self._browsing.check_accessibility(self._page)
            return result

        return checked


def watched(
    session: Browsing, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsing]:
    """Yield ``session``; afterwards screenshots if the test failed, console check if it passed."""
    yield session
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        directory = tmp_path_factory.mktemp(f"screenshots-{request.node.name}"[:60])
        saved = session.screenshots(directory)
        print(f"\nscreenshots of the failed test ({len(saved)}): {directory}")
    for context in session.contexts:
        context.close()
    if report is not None and report.passed:
        session.assert_clean()


# -- page helpers ------------------------------------------------------------------------------------
def heading(page: Any) -> str:
    return str(page.inner_text("main h1")).strip()


def case_reference(page: Any) -> str:
    match = re.search(r"CT-\d{4}-\d+", heading(page))
    assert match, f"no case reference in {heading(page)!r}"
    return match.group(0)


def submit(page: Any, selector: str = "main form button[type=submit].primary") -> int:
    """Click a submit button and return the HTTP status of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.click(selector)
    return int(navigation.value.status)


def choose_country(page: Any, field: str, name: str, code: str) -> None:
    """Type a country's name into its type-ahead box and take the first match with Enter."""
    page.fill(f"#{field}-typeahead", name)
    page.press(f"#{field}-typeahead", "Enter")
    assert page.input_value(f"#{field}") == code


def register(page: Any, given: str, family: str) -> int:
    """Fill in and send the registration form; the status of the page it leads to."""
    page.goto("/cases/new")
    page.fill("#given_name", given)
    page.fill("#family_name", family)
    page.select_option("#gender", "female")
    page.fill("#age_at_registration", "24")
    choose_country(page, "citizenship", "Nigeria", "NG")
    choose_country(page, "country_of_exploitation", "Italy", "IT")
    page.select_option("#identification_route", "ngo")
    return submit(page, "#register-submit")


#: What each kind of assistance's form needs besides status and start date.
ASSISTANCE = {
    "shelter": lambda page: (
        page.select_option("#shelter_type", "safe_house"),
        page.fill("#facility", "Safe house north"),
        page.fill("#admitted_on", "2025-03-15"),
    ),
    "legal": lambda page: (
        page.check("input[name=legal_services][value=counselling]"),
        page.select_option("#permit_status", "applied"),
    ),
    "medical": lambda page: (
        page.check("input[name=care_types][value=primary_care]"),
        page.fill("#referred_to", "City clinic"),
    ),
    "psychosocial": lambda page: (
        page.check("input[name=support_types][value=individual_counselling]"),
        page.fill("#sessions_planned", "6"),
        page.fill("#sessions_attended", "2"),
    ),
    "return": lambda page: (
        page.select_option("#destination_country", "NG"),
        page.select_option("#risk_level", "low"),
    ),
    "reintegration": lambda page: (
        page.check("input[name=components][value=vocational_training]"),
        page.fill("#grant_amount", "250.00"),
        page.fill("#grant_currency", "eur"),
    ),
}
