"""The deployment (tests/deploy/harness.py), its accounts, and chromium on it over HTTPS.

One deployment per module: two gunicorn hosts and nginx take a while to start, and the journeys
build on each other (the partner accepts the referral the caseworker sent), as on a real
deployment. Browser pages are watched as in tests/browser (console errors, CSP violations,
screenshots of a failed test)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyotp
import pytest

from tests.browser.support import CHROMIUM_ARGS, Browsing, watched
from tests.browser.support import browser as browser  # noqa: PLC0414 - the shared fixtures
from tests.browser.support import pytest_runtest_makereport as pytest_runtest_makereport  # noqa: PLC0414
from tests.deploy.harness import SERVER_NAME, Deployment, deployment_of_two_hosts, tail

PASSWORD = "harbour lantern 7731 quietly"
LEAD_ORG = "Lead agency"
PARTNER_ORG = "Harbour Shelter"
ACCOUNTS = {
    "supervisor": ("supervisor@lead.example", LEAD_ORG),
    "caseworker": ("caseworker@lead.example", LEAD_ORG),
    "partner": ("partner@harbour.example", PARTNER_ORG),
    "researcher": ("researcher@institute.example", "Research institute"),
}


@dataclass
class Journey:
    """What one step of the journeys leaves for the next (the deployment is shared)."""

    totp_secrets: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)  # reference -> case id
    given_names: dict[str, str] = field(default_factory=dict)  # case id -> given name


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    server = os.environ["CASEWORK_TEST_POSTGRES_URL"]
    directory = tmp_path_factory.mktemp("deployment")
    with deployment_of_two_hosts(directory, server) as deployed:
        # Accounts, as an operator creates them (README: `scripts/manage users create`).
        for role, (email, org) in ACCOUNTS.items():
            deployed.manage(
                deployed.hosts[0],
                "users",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--org",
                org,
                stdin=PASSWORD + "\n",
            )
        try:
            yield deployed
        finally:
            for host in deployed.hosts:
                print(f"\n--- {host.name} ({host.log}), last lines:\n{tail(host.log, 15)}")
            print(f"\n--- nginx error log:\n{tail(deployed.nginx_prefix / 'logs' / 'error.log', 15)}")


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """casework.test is the deployment's name (nginx serves only that name, by SNI and Host)."""
    return [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {SERVER_NAME} 127.0.0.1"]


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


@pytest.fixture
def browsing(
    browser: Any, deployment: Deployment, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsing]:
    session = Browsing(browser, deployment.base_url, {"ignore_https_errors": True})
    yield from watched(session, request, tmp_path_factory)


def next_code(secret: str) -> str:
    """The code of the next 30-second step: the current one may have been used already (a code
    is accepted once), and the server accepts one step of drift."""
    return pyotp.TOTP(secret).at((int(time.time()) // 30 + 1) * 30)


@pytest.fixture
def sign_in(journey: Journey) -> Callable[..., Any]:
    """Sign in through the real pages: password, then the two-factor code when the account has one."""

    def do_sign_in(page: Any, role: str) -> None:
        email = ACCOUNTS[role][0]
        page.goto("/auth/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        if "/auth/two-factor" in page.url and "setup" not in page.url:
            page.fill("#code", next_code(journey.totp_secrets[role]))
            with page.expect_navigation():
                page.click("main form button[type=submit]")
        assert "/auth/login" not in page.url and page.url.startswith("https://"), (
            f"sign-in failed on {page.url}: " + (page.locator("main").inner_text()[:300])
        )

    return do_sign_in
