"""Locust users for bench/load_test.py (run by it; not on its own).

``CASEWORK_LOAD_USERS`` names a JSON file written by load_test.py: one entry per caseworker
account (email, password, ids of cases assigned to it, the full names of some of them). Each
simulated user signs in as its own caseworker, so no two users edit the same case.

User classes (chosen on the locust command line):
- ``HealthUser``: only ``/health`` (one ``SELECT 1``): the ceiling of the deployment;
- ``CaseFileUser``: only case files, for the case-file throughput;
- ``FormPageUser``: only a signed-in page with one small form (the floor of a signed-in page);
- ``CaseFloorUser`` / ``CaseQueryUser``: only bench/floor_app.py's routes: a case file's scoped
  query with (floor) or without (query) the view's audit event, answering a static page;
- ``CaseworkerUser``: the mix: case list, case file, name search (POST), case edit (POST with
  the form's CSRF token and version), new service record (POST).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
from datetime import date, timedelta
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from typing import Any

from locust import HttpUser, between, constant, task

_ACCOUNTS: list[dict[str, Any]] = []
_NEXT = itertools.count()
_LOCK = threading.Lock()
SESSION_COOKIE = "casework_session"


def _accounts() -> list[dict[str, Any]]:
    if not _ACCOUNTS:
        with open(os.environ["CASEWORK_LOAD_USERS"], encoding="utf-8") as handle:
            _ACCOUNTS.extend(json.load(handle)["users"])
    return _ACCOUNTS


class FormFields(HTMLParser):
    """The current values of a page's first form that posts to ``action`` (or of all forms)."""

    def __init__(self, action: str | None = None) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.action is None or a.get("action", "") in ("", self.action)
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button"):
                return
            self.values.setdefault(name, []).append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.values[self._textarea] = ["".join(self._text)]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def form_values(page: str, action: str | None = None) -> dict[str, list[str]]:
    parser = FormFields(action)
    parser.feed(page)
    return parser.values


def _send_secure_cookies_over_loopback(_policy: Any, _cookie: Any, _request: Any) -> bool:
    return True


# Production cookies are Secure; on loopback locust stands where the TLS proxy would, so it
# sends them over plain HTTP (requests copies cookies into fresh jars, hence the class patch;
# this process is the load generator only).
DefaultCookiePolicy.return_ok_secure = _send_secure_cookies_over_loopback  # type: ignore[method-assign]


class _SignedIn(HttpUser):
    abstract = True
    # People read a page before the next click; the throughput phases override this with 0.
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # load_test.py signed every account in before the phases (argon2id on 2 cores would
        # otherwise eat the first seconds of each phase): reuse that signed session cookie.
        accounts = _accounts()
        with _LOCK:
            self.account = accounts[next(_NEXT) % len(accounts)]
        host = self.host.split("://", 1)[1].split(":")[0]
        self.client.cookies.set(SESSION_COOKIE, self.account["cookie"], domain=host, path="/")

    def case_id(self) -> str:
        return random.choice(self.account["case_ids"])

    def open_case_file(self, prefix: str = "/cases/", name: str = "case file") -> None:
        with self.client.get(f"{prefix}{self.case_id()}", name=name, catch_response=True) as response:
            if response.status_code != 200 or "/auth/login" in response.url:
                response.failure(f"{name}: {response.status_code}")


class HealthUser(HttpUser):
    wait_time = constant(0)  # as fast as the deployment answers: the ceiling

    @task
    def health(self) -> None:
        self.client.get("/health", name="/health")


class CaseFileUser(_SignedIn):
    wait_time = constant(0)

    @task
    def case_file(self) -> None:
        self.open_case_file()


class CaseFloorUser(_SignedIn):
    """The case file's unavoidable work only (bench/floor_app.py): scoped query and audit event."""

    wait_time = constant(0)

    @task
    def case_floor(self) -> None:
        self.open_case_file("/bench/case-floor/", "case floor")


class CaseQueryUser(_SignedIn):
    """The scoped case query only, no audit event (bench/floor_app.py)."""

    wait_time = constant(0)

    @task
    def case_query(self) -> None:
        self.open_case_file("/bench/case-query/", "case query")


class FormPageUser(_SignedIn):
    """A signed-in page with one small form (change password): what any signed-in page costs
    (session, user, CSRF token, layout) before it shows anything of a case."""

    wait_time = constant(0)

    @task
    def form_page(self) -> None:
        with self.client.get("/auth/password", name="form page", catch_response=True) as response:
            if response.status_code != 200 or "/auth/login" in response.url:
                response.failure(f"form page: {response.status_code}")


class CaseworkerUser(_SignedIn):
    @task(4)
    def case_file(self) -> None:
        self.open_case_file()

    @task(3)
    def case_list(self) -> None:
        page = random.choice((1, 1, 2, 3, 10, 40))
        with self.client.get(f"/cases/?page={page}", name="case list", catch_response=True) as response:
            if response.status_code != 200 or "/auth/login" in response.url:
                response.failure(f"case list: {response.status_code}")

    @task(2)
    def name_search(self) -> None:
        page = self.client.get("/cases/search", name="search form").text
        token = form_values(page, "/cases/search")["csrf_token"][0]
        name = random.choice(self.account["names"])
        with self.client.post(
            "/cases/search",
            data={"full_name": name, "csrf_token": token},
            name="name search (POST)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"search: {response.status_code}")

    @task(1)
    def edit_case(self) -> None:
        case_id = self.case_id()
        url = f"/cases/{case_id}/edit"
        page = self.client.get(url, name="edit form")
        if page.status_code != 200:
            return
        data = form_values(page.text, url)
        data["address"] = [f"Via Garibaldi {random.randint(1, 300)}, Palermo"]
        with self.client.post(url, data=data, allow_redirects=False, name="case edit (POST)", catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"edit: {r.status_code}")

    @task(1)
    def record_service(self) -> None:
        case_id = self.case_id()
        url = f"/cases/{case_id}/assistance/psychosocial/new"
        page = self.client.get(url, name="service form")
        if page.status_code != 200:
            return
        data = form_values(page.text, url)
        data.update(
            status=["in_progress"],
            started_on=[(date.today() - timedelta(days=random.randint(1, 300))).isoformat()],
            support_types=["individual_counselling"],
            sessions_planned=["8"],
            sessions_attended=["2"],
            notes=["Weekly session, load test."],
        )
        with self.client.post(
            url, data=data, allow_redirects=False, name="service record (POST)", catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"service: {response.status_code}")
