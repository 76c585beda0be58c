"""The deployment, tried as people use it: chromium over HTTPS through nginx in front of two
gunicorn hosts on one PostgreSQL database (tests/deploy/harness.py builds it from the shipped
files, as the README's "Deploying on PostgreSQL" says).

The journeys run in order on the one deployment: a supervisor signs in with two-factor
authentication, a caseworker registers a case, records assistance and consent and refers the
case to a partner, the partner accepts, a researcher exports on one host and downloads the file
from the other. Then what an operator meets: the client addresses behind the proxy, a database
that refuses writes, the export purge timer, a backup restored and served.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time

import pyotp
import pytest

from tests.browser.support import ASSISTANCE, case_reference, heading, register, submit
from tests.deploy.conftest import ACCOUNTS, PARTNER_ORG, PASSWORD
from tests.deploy.harness import (
    PURGE_UNIT,
    ROOT,
    SERVER_NAME,
    Client,
    Deployment,
    Host,
    database_url,
    free_port,
    plain_get,
    read_environment_file,
    render_environment,
    unit_command,
    wait_for,
)
from tests.faults.forms import form_posting_to

pytestmark = pytest.mark.deploy
HSTS = "Strict-Transport-Security"


def sign_out(page) -> None:
    with page.expect_navigation():
        page.click("header form button[type=submit]")


# -- nginx as shipped --------------------------------------------------------------------------------
def test_nginx_accepts_the_shipped_site(deployment: Deployment) -> None:
    checked = deployment.check_nginx()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_every_answer_through_nginx_has_one_hsts_header(deployment: Deployment) -> None:
    client = deployment.client()
    answers = {
        "page": client.get("/auth/login"),
        "redirect": client.get("/reports/"),
        "static": client.get("/static/css/casework.css"),
        "not found": client.get("/no/such/page"),
        "health": client.get("/health"),
        "ready": client.get("/ready"),
        # nginx's own answer: a body over the 2 MB limit never reaches the application.
        "too large": client.request(
            "POST", "/auth/login", body=b"x" * (3 * 1024 * 1024), headers={"Content-Type": "text/plain"}
        ),
    }
    statuses = {name: answer.status for name, answer in answers.items()}
    assert statuses == {
        "page": 200,
        "redirect": 302,
        "static": 200,
        "not found": 404,
        "health": 200,
        "ready": 200,
        "too large": 413,
    }
    for name, answer in answers.items():
        assert answer.headers.get_all(HSTS) == ["max-age=63072000; includeSubDomains"], name
    # A name nginx does not serve gets no TLS handshake at all.
    stranger = deployment.client()
    stranger.host = "other.example"
    with pytest.raises(ssl.SSLError):
        stranger.get("/auth/login")
    page = answers["page"]
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "nginx/" not in page.headers.get("Server", "")


def test_plain_http_is_sent_to_https(deployment: Deployment) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=10)
    connection.request("GET", "/auth/login?next=/cases/", headers={"Host": SERVER_NAME})
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{SERVER_NAME}/auth/login?next=/cases/"
    connection.close()


# -- the journeys --------------------------------------------------------------------------------------
def test_a_supervisor_sets_up_two_factor_and_signs_in_with_it(browsing, deployment, journey, sign_in) -> None:
    page = browsing.new_page()
    page.goto("/auth/login")
    page.fill("#email", ACCOUNTS["supervisor"][0])
    page.fill("#password", PASSWORD)
    with page.expect_navigation() as navigation:
        page.click("main form button[type=submit]")
    assert navigation.value.status == 200, page.locator("main").inner_text()[:300]
    # Supervisors must have a second factor: the first sign-in leads to its set-up.
    assert page.url.endswith("/auth/two-factor/setup"), page.url
    secret = page.inner_text("code.secret").replace(" ", "")
    journey.totp_secrets["supervisor"] = secret
    page.fill("#code", pyotp.TOTP(secret).now())
    assert submit(page) == 200
    assert page.locator(".flash-success").inner_text() == "Two-factor authentication is on."
    sign_out(page)

    sign_in(page, "supervisor")  # password, then the code
    assert heading(page) == "Work list"
    browsing.assert_clean()


def test_a_caseworker_registers_a_case_records_assistance_and_refers_it(browsing, deployment, journey, sign_in) -> None:
    page = browsing.new_page()
    sign_in(page, "caseworker")
    assert register(page, "Amina", "Okafor") == 200
    assert page.locator(".flash-success").inner_text().startswith("Case CT-")
    reference = case_reference(page)
    case_id = page.url.rstrip("/").split("/")[-1]
    journey.cases[reference] = case_id
    journey.given_names[case_id] = "Amina"

    # Assistance: a shelter stay, from the case file's assistance tab.
    page.goto(f"/cases/{case_id}?tab=assistance")
    with page.expect_navigation():
        page.click("a[href$='/assistance/shelter/new']")
    page.select_option("#status", "in_progress")
    page.fill("#started_on", "2025-03-15")
    ASSISTANCE["shelter"](page)
    assert submit(page) == 200
    assert page.locator(".flash-success").inner_text() == "Assistance recorded."

    # Consent: to share with the partner for the referral, and to anonymised research.
    for purpose, organisation in (("referral_sharing", PARTNER_ORG), ("anonymised_research", None)):
        page.goto(f"/cases/{case_id}/consents/new")
        page.select_option("#purpose", purpose)
        if organisation:
            page.select_option("#organisation_id", label=organisation)
        page.check("input[name=decision][value=granted]")
        page.select_option("#method", "written")
        page.select_option("#given_by", "victim")
        assert submit(page) == 200, page.locator("main").inner_text()[:400]

    # The referral.
    page.goto(f"/cases/{case_id}/referrals/new")
    page.select_option("#to_org_id", label=f"{PARTNER_ORG} (consent in force)")
    page.select_option("#service_kind", "shelter")
    page.fill("#message", "A bed for two weeks, please.")
    assert submit(page) == 200, page.locator("main").inner_text()[:400]
    assert page.locator(".flash-success").inner_text().startswith("The referral was sent.")
    browsing.assert_clean()


def test_the_partner_accepts_the_referral_and_sees_the_case(browsing, deployment, journey, sign_in) -> None:
    assert journey.cases, "needs the caseworker's referral (the test before this one)"
    page = browsing.new_page()
    sign_in(page, "partner")
    assert page.url.endswith("/partners/portal")
    with page.expect_navigation():
        page.click("main table a[href*='/partners/referrals/']")
    page.check("input[name=decision][value=accept]")
    assert submit(page, "form[action$='/respond'] button[type=submit]") == 200
    page.goto("/partners/portal")
    reference = next(iter(journey.cases))
    with page.expect_navigation():
        page.click(f"main table a:has-text('{reference}')")
    assert "Amina" in page.inner_text("main")
    browsing.assert_clean()


def test_a_researcher_exports_on_one_host_and_downloads_from_the_other(browsing, deployment, sign_in) -> None:
    host1, host2 = deployment.hosts
    page = browsing.new_page()
    deployment.drain("host2")  # everything goes to host1
    try:
        sign_in(page, "researcher")
        page.goto("/exports/")
        page.check("form[action$='/exports/table'] input[name=dimensions][value=year]")
        page.fill("#table-threshold", "10")
        with page.expect_navigation() as navigation:
            page.click("form[action$='/exports/table'] button[type=submit]")
        assert navigation.value.status == 200, page.locator("main").inner_text()[:400]
        export_path = "/" + page.url.split("/", 3)[3]
        assert re.fullmatch(r"/exports/runs/[0-9a-f-]{36}", export_path), page.url
        assert host1.served("/exports/table", "POST") == 1 and host2.served("/exports/table", "POST") == 0

        deployment.drain("host1")  # host1 is out: the download can only come from host2
        page.goto(export_path)
        with page.expect_download() as download_info:
            page.click("a[href$='/download']")
        download = download_info.value
        assert download.failure() is None
        content = open(download.path(), encoding="utf-8").read()
    finally:
        deployment.drain()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0].lower().startswith("year") and len(rows) >= 2
    assert host2.served(export_path + "/download") == 1 and host1.served(export_path + "/download") == 0
    browsing.assert_clean()


def test_a_document_uploaded_on_one_host_downloads_from_the_other(browsing, deployment, journey, sign_in) -> None:
    """A 3 MB scan (over the site's 2 MB limit for other requests: nginx's document location
    lets it through) uploaded through host1 only, downloaded through host2 only: the chunks are
    in the shared database, under the case's key, which both hosts unwrap."""
    host1, host2 = deployment.hosts
    scan = b"%PDF-1.7\n" + bytes(range(256)) * (3 * 4096) + b"\n%%EOF\n"
    page = browsing.new_page()
    deployment.drain("host2")
    try:
        sign_in(page, "caseworker")
        assert register(page, "Noor", "Haddad") == 200
        case_id = page.url.rstrip("/").split("/")[-1]
        journey.given_names[case_id] = "Noor"
        page.goto(f"/cases/{case_id}/documents/new")
        page.select_option("#kind", "identity_document")
        page.fill("#title", "Passport, photo page")
        page.set_input_files("#file", {"name": "passport.pdf", "mimeType": "application/pdf", "buffer": scan})
        assert submit(page) == 200, page.locator("main").inner_text()[:400]
        document_path = "/" + page.url.split("/", 3)[3]
        assert re.fullmatch(r"/documents/[0-9a-f-]{36}", document_path), page.url
        upload_path = f"/cases/{case_id}/documents/new"
        assert host1.served(upload_path, "POST") == 1 and host2.served(upload_path, "POST") == 0

        deployment.drain("host1")
        page.goto(document_path)
        with page.expect_download() as download_info:
            page.click("#download-document")
        download = download_info.value
        assert download.failure() is None
        assert open(download.path(), "rb").read() == scan
    finally:
        deployment.drain()
    assert host2.served(document_path + "/download") == 1 and host1.served(document_path + "/download") == 0
    browsing.assert_clean()


def test_the_logs_hold_paths_but_never_query_strings(deployment: Deployment) -> None:
    marker = "Okafor-query-marker"
    client = deployment.client()
    assert client.get(f"/auth/login?next=/cases/&name={marker}").status == 200
    time.sleep(0.5)  # nginx writes its log line after the answer
    nginx_log = deployment.access_log.read_text()
    assert "GET /auth/login HTTP/" in nginx_log
    assert marker not in nginx_log and "?" not in nginx_log
    for host in deployment.hosts:
        assert marker not in host.log.read_text()


# -- behind the proxy: the real client address -----------------------------------------------------
def test_sign_in_throttling_and_the_audit_log_use_the_real_client_address(deployment: Deployment) -> None:
    attacker = deployment.client("127.0.0.2")
    attempts = 0
    while True:
        attacker.get("/auth/login")
        answer = attacker.post(
            "/auth/login",
            {"email": f"guess{attempts}@lead.example", "password": "not the password 1"},
            headers={"X-Forwarded-For": "198.51.100.99"},  # a client's claim: not believed
        )
        if answer.status == 429:
            break
        assert answer.status == 401, (answer.status, answer.text[:300])
        attempts += 1
        assert attempts <= 30
    assert attempts == 30  # the configured limit per address, then 429

    # The same moment, another address: the right password signs in.
    colleague = deployment.client("127.0.0.3")
    colleague.get("/auth/login")
    answer = colleague.post("/auth/login", {"email": ACCOUNTS["caseworker"][0], "password": PASSWORD})
    assert answer.status == 302, (answer.status, answer.text[:300])

    failures = deployment.sql(
        "SELECT remote_addr, count(*) FROM audit_events WHERE action = 'login.failure' GROUP BY remote_addr"
    )
    assert dict(failures) == {"127.0.0.2": 30}
    success = deployment.sql(
        "SELECT remote_addr FROM audit_events WHERE action = 'login.success' ORDER BY id DESC LIMIT 1"
    )
    assert success == [("127.0.0.3",)]
    addresses = {row[0] for row in deployment.sql("SELECT DISTINCT remote_addr FROM audit_events")}
    assert "198.51.100.99" not in addresses


# -- helpers over HTTPS (no browser) ------------------------------------------------------------------
def signed_in_client(deployment: Deployment, role: str, port: int | None = None) -> Client:
    """A client signed in as ``role``: through nginx, or straight to one host's gunicorn port."""
    client = deployment.client() if port is None else Client(port, tls=False)
    client.get("/auth/login")
    answer = client.post("/auth/login", {"email": ACCOUNTS[role][0], "password": PASSWORD})
    assert answer.status == 302, (answer.status, answer.text[:300])
    return client


def register_cases(client: Client, journey, given_names: list[str]) -> list[str]:
    """Register one case per given name through the registration form; returns their ids."""
    made = []
    for given in given_names:
        # What a browser sends: the form as the page has it (defaults, hidden fields), filled in.
        fields = form_posting_to(client.get("/cases/new").text, "/cases/new").data()
        fields.update(
            given_name=[given],
            family_name=["Deploytest"],
            gender=["male"],
            age_at_registration=["31"],
            citizenship=["ER"],
            country_of_exploitation=["LY"],
            identification_route=["ngo"],
        )
        answer = client.post("/cases/new", fields)
        assert answer.status == 302, (answer.status, answer.text[:400])
        case_id = answer.location.rstrip("/").split("/")[-1]
        journey.given_names[case_id] = given
        made.append(case_id)
    return made


def assert_every_case_opens(
    deployment: Deployment, journey, port: int | None = None, database: str | None = None
) -> int:
    """Every case of the database opens for its caseworker, its given name readable (decrypted);
    through nginx, or through one host (``port``). Returns how many cases were opened."""
    client = signed_in_client(deployment, "caseworker", port)
    rows = deployment.sql("SELECT id FROM cases WHERE erased_at IS NULL ORDER BY id", database=database)
    assert rows
    for (case_id,) in rows:
        answer = client.get(f"/cases/{case_id}")
        assert answer.status == 200, (str(case_id), answer.status)
        assert journey.given_names[str(case_id)] in answer.text, str(case_id)
        assert "[erased]" not in answer.text
    return len(rows)


# -- who must not see a case, over HTTPS through the proxy (issue 16's deny cases) ----------------------
def signed_in_supervisor_of_another_organisation(deployment: Deployment) -> Client:
    email = "supervisor@other.example"
    deployment.manage(
        deployment.hosts[0], "users", "create", "--email", email, "--role", "supervisor", "--org", "Other agency",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    client = deployment.client("127.0.0.5")
    client.get("/auth/login")
    answer = client.post("/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status == 302, answer.status
    # Supervisors must have a second factor: every page leads to its set-up until it is done.
    assert client.get("/").location.endswith("/auth/two-factor/setup")
    found = re.search(r'<code class="secret">([^<]+)</code>', client.get("/auth/two-factor/setup").text)
    assert found
    answer = client.post("/auth/two-factor/setup", {"code": pyotp.TOTP(found.group(1).replace(" ", "")).now()})
    assert answer.status == 302, answer.text[:300]
    return client


def test_who_must_not_see_a_case_is_refused_through_the_proxy(deployment: Deployment, journey) -> None:
    assert journey.cases, "needs the caseworker's case (the journeys above)"
    case_id = next(iter(journey.cases.values()))
    given = journey.given_names[case_id]
    notes_before = deployment.sql("SELECT count(*) FROM case_notes")[0][0]

    # The researcher: no case at all.
    researcher = signed_in_client(deployment, "researcher")
    answer = researcher.get(f"/cases/{case_id}")
    assert answer.status in (403, 404) and given not in answer.text

    # The partner the case was referred to: never the staff case file, never a staff form.
    partner = signed_in_client(deployment, "partner")
    answer = partner.get(f"/cases/{case_id}")  # sent to the partner's own, masked page
    assert answer.status == 302 and answer.location.endswith(f"/partners/cases/{case_id}"), answer.status
    partner.get("/partners/")
    answer = partner.post(f"/cases/{case_id}/notes", {"body": ""}, referer=f"/partners/cases/{case_id}")
    assert answer.status in (403, 404) and given not in answer.text

    # A supervisor of another organisation: out of scope (404, no name), offered emergency access.
    visitor = signed_in_supervisor_of_another_organisation(deployment)
    answer = visitor.get(f"/cases/{case_id}")
    assert answer.status == 404 and given not in answer.text
    assert f'action="/cases/{case_id}/break-glass"' in answer.text
    reason = "Person at the border crossing asking for shelter tonight"
    answer = visitor.post(f"/cases/{case_id}/break-glass", {"reason": reason})
    assert answer.status == 302, answer.text[:300]
    # ... which is read-only: the page offers no form that changes the case, and forged posts fail.
    page = visitor.get(f"/cases/{case_id}")
    assert page.status == 200 and "emergency access" in page.text
    every_tab = page.text + "".join(
        visitor.get(f"/cases/{case_id}?tab={tab}").text
        for tab in ("notes", "management", "consents", "referrals", "assistance", "plan")
    )
    for action in ("notes", "close", "assign"):
        assert f'action="/cases/{case_id}/{action}"' not in every_tab, action
    for link in ("edit", "consents/new", "referrals/new", "referrals/emergency"):
        assert f'href="/cases/{case_id}/{link}"' not in every_tab, link
        assert visitor.get(f"/cases/{case_id}/{link}").status == 403, link
    for action, fields in (("notes", {"body": "visitor note"}), ("close", {}), ("assign", {"assignee_id": ""})):
        answer = visitor.post(f"/cases/{case_id}/{action}", fields, referer=f"/cases/{case_id}")
        assert answer.status == 403, (action, answer.status)
    assert deployment.sql("SELECT count(*) FROM case_notes")[0][0] == notes_before
    # The owner organisation sees who looked, and why.
    granted = deployment.sql(
        "SELECT count(*) FROM audit_events WHERE action = 'case.break_glass' AND outcome = 'ok' AND case_id = %(id)s",
        {"id": case_id},
    )
    assert granted[0][0] >= 1


# -- key rotation while both hosts serve (README "Rotating the master key", step by step) -------------
def copy_keyring(source: Host, target: Host) -> None:
    """What the README tells the operator: copy the file over, atomically (mode 600)."""
    staged = target.keyring.with_suffix(".json.new")
    shutil.copyfile(source.keyring, staged)
    staged.chmod(0o600)
    os.replace(staged, target.keyring)


def key_status(deployment: Deployment, host: Host) -> tuple[int, dict]:
    result = deployment.manage(host, "keys", "status", "--json", check=False)
    return result.returncode, json.loads(result.stdout)


def test_keys_rotate_and_retire_while_both_hosts_register_cases(deployment: Deployment, journey) -> None:
    host1, host2 = deployment.hosts
    code, status = key_status(deployment, host1)
    assert code == 0, status
    (old,) = [k["id"] for k in status["keys"] if k["state"] == "active"]

    # A caseworker keeps registering cases on each host the whole time.
    stop = threading.Event()
    registered: dict[str, list[str]] = {host.name: [] for host in deployment.hosts}
    failures: list[str] = []

    def keep_registering(host: Host) -> None:
        client = signed_in_client(deployment, "caseworker", host.port)
        while not stop.is_set() and not failures:
            n = len(registered[host.name])
            given = f"Rota{host.name[-1]}{chr(97 + n // 26 % 26)}{chr(97 + n % 26)}"
            try:
                registered[host.name] += register_cases(client, journey, [given])
            except Exception as exc:  # noqa: BLE001 - reported below, with the host
                failures.append(f"{host.name}: {exc!r}"[:600])
            stop.wait(3.0)  # a caseworker's pace: every later test opens every case

    workers = [threading.Thread(target=keep_registering, args=(host,), daemon=True) for host in deployment.hosts]
    for worker in workers:
        worker.start()
    try:
        new = deployment.manage(host1, "keys", "add").stdout.strip().splitlines()[-1]
        copy_keyring(host1, host2)
        deployment.manage(host1, "keys", "activate", new, "--wait", "60")
        deployment.manage(host2, "keys", "rewrap", "--batch-size", "5")
        deployment.manage(host1, "keys", "retire", old, "--backups-unrestorable", "--wait", "60")
        copy_keyring(host1, host2)
        time.sleep(1)  # a few more cases under the new key only
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert not failures, failures
    assert all(len(made) >= 2 for made in registered.values()), registered

    # Every process drops the retired key from its file at its next poll: then no problem is left.
    def settled() -> bool:
        return key_status(deployment, host2)[0] == 0

    wait_for(settled, 60, "keys status to report no problem on every host")
    code, status = key_status(deployment, host2)
    states = {k["id"]: k["state"] for k in status["keys"]}
    assert states[old] == "retired" and states[new] == "active"
    assert all(not k["data_keys"] or not any(k["data_keys"].values()) for k in status["keys"] if k["id"] == old)
    for host in deployment.hosts:
        deployment.manage(host, "keys", "check")
        assert old not in host.keyring.read_text()
        # Every case, the old ones and those registered during the rotation, opens on both hosts.
        assert assert_every_case_opens(deployment, journey, port=host.port) >= sum(map(len, registered.values()))


def test_cases_registered_on_either_host_open_on_both(deployment: Deployment, journey) -> None:
    host1, host2 = deployment.hosts
    register_cases(signed_in_client(deployment, "caseworker", host1.port), journey, ["Tesfay"])
    register_cases(signed_in_client(deployment, "caseworker", host2.port), journey, ["Yonas"])
    for host in deployment.hosts:
        assert assert_every_case_opens(deployment, journey, port=host.port) == len(journey.given_names)


# -- the audit log under a stream of case views on both hosts -----------------------------------------
def test_case_views_on_both_hosts_reach_the_tree_within_seconds_in_few_checkpoints(deployment: Deployment) -> None:
    """The sequencer runs in whichever gunicorn worker holds the deployment's lease. While both
    hosts serve case files at once, it integrates a batch a round (a second): the events reach
    the tree within seconds of the last view, in a handful of checkpoints, not one per event or
    two (which is what a round that integrated until nothing waited wrote under a stream), and
    `audit verify` holds on every host that signed checkpoints."""
    rows = deployment.sql("SELECT id FROM cases WHERE erased_at IS NULL ORDER BY id")
    assert rows, "needs the cases registered above"
    case_ids = [str(row[0]) for row in rows]
    checkpoints_before = deployment.sql("SELECT count(*) FROM audit_checkpoints")[0][0]
    events_before = deployment.sql("SELECT coalesce(max(id), 0) FROM audit_events")[0][0]
    clients = [signed_in_client(deployment, "caseworker", host.port) for host in deployment.hosts for _ in range(2)]
    failures: list[object] = []

    started = time.monotonic()

    def view(client: Client) -> None:  # for six seconds: several of the sequencer's rounds
        number = 0
        while time.monotonic() - started < 6:
            answer = client.get(f"/cases/{case_ids[number % len(case_ids)]}")
            if answer.status != 200:
                failures.append(answer.status)
            number += 1

    threads = [threading.Thread(target=view, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream_seconds = time.monotonic() - started
    assert not failures, failures

    stopped = time.monotonic()
    wait_for(
        lambda: deployment.sql("SELECT count(*) FROM audit_events WHERE leaf_index IS NULL")[0][0] == 0,
        timeout=15,
        what="every event in the tree",
    )
    caught_up = time.monotonic() - stopped
    views = deployment.sql(
        "SELECT count(*) FROM audit_events WHERE id > %(after)s AND action = 'case.view'", {"after": events_before}
    )[0][0]
    checkpoints = deployment.sql("SELECT count(*) FROM audit_checkpoints")[0][0] - checkpoints_before
    assert views >= 100
    assert caught_up <= 5, caught_up  # a round a second, and CI's machine is shared
    # About a checkpoint a round: one per second of the stream and of the catching up, with room.
    assert checkpoints <= 2 * (stream_seconds + caught_up) + 4, (checkpoints, views, stream_seconds)
    signed = [host for host in deployment.hosts if (host.directory / "audit-anchor.log").exists()]
    assert signed
    for host in signed:
        result = deployment.manage(host, "audit", "verify")
        assert "chain intact" in result.stdout, result.stdout


# -- a database that refuses writes ----------------------------------------------------------------
def test_a_read_only_database_answers_503_nothing_saved_and_is_not_ready(
    browsing, deployment: Deployment, journey, sign_in
) -> None:
    assert journey.cases, "needs the caseworker's case (the journeys above)"
    case_id = next(iter(journey.cases.values()))
    page = browsing.new_page()
    sign_in(page, "caseworker")
    page.goto(f"/cases/{case_id}?tab=notes")
    notes_before = deployment.sql("SELECT count(*) FROM case_notes")[0][0]

    # As a failover to a standby or an operator's emergency switch leaves it: new sessions are
    # read-only, the old ones are gone.
    deployment.admin_sql(f'ALTER DATABASE "{deployment.database}" SET default_transaction_read_only = on')
    deployment.admin_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(name)s AND pid <> pg_backend_pid()",
        {"name": deployment.database},
    )
    try:
        for host in deployment.hosts:
            status, body = plain_get(host.port, "/ready")
            assert (status, body) == (503, b'{"status":"read-only"}\n'), (host.name, status, body)
            assert plain_get(host.port, "/health")[0] == 200  # alive: it is the database that refuses
        through_nginx = deployment.client().get("/ready")
        assert through_nginx.status == 503 and through_nginx.headers.get_all(HSTS) is not None

        page.fill("#body", "Called her sister; she will visit on Friday.")
        browsing.expect_status(503)
        assert submit(page, "form[action$='/notes'] button[type=submit]") == 503
        assert "Nothing was saved" in page.inner_text("main")
        assert "Called her sister" not in page.content()
    finally:
        deployment.admin_sql(f'ALTER DATABASE "{deployment.database}" RESET default_transaction_read_only')
    assert deployment.sql("SELECT count(*) FROM case_notes")[0][0] == notes_before

    # Writable again: every host is ready without a restart, and the note is saved, once.
    for host in deployment.hosts:
        wait_for(lambda host=host: plain_get(host.port, "/ready")[0] == 200, 20, f"{host.name} to be ready")
    page.goto(f"/cases/{case_id}?tab=notes")
    page.fill("#body", "Called her sister; she will visit on Friday.")
    assert submit(page, "form[action$='/notes'] button[type=submit]") == 200
    assert deployment.sql("SELECT count(*) FROM case_notes")[0][0] == notes_before + 1


# -- exports expire ---------------------------------------------------------------------------------------
def test_the_purge_timer_removes_expired_export_files(deployment: Deployment) -> None:
    assert deployment.sql("SELECT count(*) FROM export_files")[0][0] >= 1
    deployment.sql("UPDATE export_files SET expires_at = now() - interval '1 minute'")
    command = unit_command(PURGE_UNIT)  # what casework-purge.service runs, on one host
    assert command[0].endswith("/scripts/manage")
    result = deployment.manage(deployment.hosts[1], *command[1:])
    assert "expired export file" in result.stdout
    assert deployment.sql("SELECT count(*) FROM export_files")[0][0] == 0
    assert deployment.sql("SELECT count(*) FROM export_chunks")[0][0] == 0


# -- backups -------------------------------------------------------------------------------------------------
def test_a_backup_restores_into_a_new_database_that_serves_every_case(
    deployment: Deployment, journey, tmp_path
) -> None:
    host1 = deployment.hosts[0]
    backup = tmp_path / "backup"
    deployment.script("backup", str(backup), host=host1)
    manifest = json.loads((backup / "manifest.json").read_text())
    keyring = json.loads(host1.keyring.read_text())
    in_use = {row[0] for row in deployment.sql("SELECT DISTINCT wrapping_key_id FROM cases")}
    assert set(manifest["master_key_ids"]) >= in_use and in_use <= {k["id"] for k in keyring["master_keys"]}
    assert manifest["cases"] == deployment.sql("SELECT count(*) FROM cases")[0][0] >= 3

    # A keyring without the backup's master keys is refused before anything is created.
    stranger = Host("stranger", deployment.directory / "stranger", free_port(), host1.database_url)
    stranger.directory.mkdir(mode=0o700)
    subprocess.run(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "casework.crypto", "init", str(stranger.keyring)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    stranger.env_file.write_text(host1.env_file.read_text().replace(str(host1.keyring), str(stranger.keyring)))
    restored_db = deployment.database + "_restored"
    restored_url = database_url(host1.database_url, restored_db)
    refused = deployment.script("restore", str(backup), restored_url, host=stranger, check=False)
    assert refused.returncode != 0 and "lacks master key" in refused.stderr
    assert deployment.sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": restored_db}, "postgres") == []

    try:
        restored_note = deployment.script("restore", str(backup), restored_url, host=host1)
        assert "data keys unwrap" in restored_note.stdout
        # A host on the copy, started as the unit starts one, with its own copy of the keyring.
        restored = Host("restored", deployment.directory / "restored", free_port(), restored_url)
        restored.directory.mkdir(mode=0o700)
        restored.keyring.write_bytes(host1.keyring.read_bytes())
        restored.env_file.write_text(
            render_environment(
                {
                    "CASEWORK_DATABASE_URL": restored_url,
                    "CASEWORK_SECRET_KEY": read_environment_file(host1.env_file)["CASEWORK_SECRET_KEY"],
                    "CASEWORK_KEYRING": str(restored.keyring),
                    "CASEWORK_AUDIT_ANCHOR": str(restored.directory / "audit-anchor.log"),
                    "CASEWORK_BIND": f"127.0.0.1:{restored.port}",
                    "CASEWORK_WORKERS": "1",
                }
            )
        )
        restored.start()
        try:
            restored.wait_until_serving()
            opened = assert_every_case_opens(deployment, journey, port=restored.port, database=restored_db)
            assert opened == manifest["cases"]
        finally:
            restored.stop()
    finally:
        deployment.admin_sql(f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')
