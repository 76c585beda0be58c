"""Real-browser fixtures: Debian's chromium driven by Playwright against the app served from a
thread (werkzeug), on 127.0.0.1 and a free port, with CSRF on and an SQLite file database.

One chromium per module (starting it is the slow part); one server per test, on the test's own
app and database, so tests do not depend on each other. Every page's console is watched: an
error or a Content-Security-Policy violation fails the test. A failed test leaves a screenshot
of each of its pages in a temporary directory (printed with the failure). The browser, the
watching and the screenshots live in tests/browser/support.py (tests/deploy uses them too).

Every page a test opens is checked for accessibility when it has loaded: axe-core (vendored in
vendor/, injected into each document, never served by the app) runs in the page, and a serious
or critical violation fails the test like a console error does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.browser.support import Browsing, watched
from tests.browser.support import browser as browser  # noqa: PLC0414 - the shared fixtures
from tests.browser.support import chromium_args as chromium_args  # noqa: PLC0414
from tests.browser.support import pytest_runtest_makereport as pytest_runtest_makereport  # noqa: PLC0414


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request is noise here
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app (tests/conftest.py make_app: SQLite file, CSRF on) served over HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browsing(
    browser: Any, live_server: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsing]:
    yield from watched(Browsing(browser, live_server), request, tmp_path_factory)


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
