"""Real-browser fixtures: Debian's chromium driven by Playwright against the app served from a
thread (werkzeug), on 127.0.0.1 and a free port, with CSRF on and an SQLite file database.

One chromium per module (starting it is the slow part); one server per test, on the test's own
app and database, so tests do not depend on each other. Every page's console is watched: an
error or a Content-Security-Policy violation fails the test. A failed test leaves a screenshot
of each of its pages in a temporary directory (printed with the failure).

Every page a test opens is checked for accessibility when it has loaded: axe-core (vendored in
vendor/, injected into each document, never served by the app) runs in the page, and a serious
or critical violation fails the test like a console error does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

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


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request is noise here
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app (tests/conftest.py make_app: SQLite file, CSRF on) served over HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@dataclass
class Browsing:
    """Browser contexts (one per signed-in person) whose pages are watched."""

    browser: Any
    base_url: str
    problems: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)
    checked: list[str] = field(default_factory=list)  # pages axe checked (path and width)

    def new_page(self, locale: str = "en-GB", width: int | None = None, height: int = 900) -> Any:
        """A page in a context of its own (its own sign-in), ``width`` CSS pixels wide if given."""
        options: dict[str, Any] = {"base_url": self.base_url, "locale": locale}
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


@pytest.fixture
def browsing(
    browser: Any, live_server: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
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


@pytest.fixture
def sign_in(app: Flask) -> Callable[..., Any]:
    """Sign a user in through the real form (password, then the TOTP code when enabled)."""
    import pyotp

    from casework.auth.models import User
    from casework.db import session

    def do_sign_in(page: Any, user: Any) -> None:
        page.goto("/auth/login")
        page.fill("#email", user.email)
        page.fill("#password", user.test_password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        if "/auth/two-factor" in page.url:
            with app.app_context():
                secret = str(session.get(User, user.id).totp_secret)
            page.fill("#code", pyotp.TOTP(secret).now())
            with page.expect_navigation():
                page.click("main form button[type=submit]")
        assert "/auth/" not in page.url, f"sign-in failed, still on {page.url}"

    return do_sign_in
