"""Documents in a real browser: a caseworker uploads the person's signed consent form from the
case file (at 375 px, the width of a small phone), and the partner whose referral shares signed
consent forms downloads it; the file that arrives is the file that was sent."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.support import submit

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def signed_form() -> bytes:
    head = b"%PDF-1.4\n% signed consent form\n"
    return head + b"1 0 obj << /Type /Catalog >> endobj\n" * 40 + b"%%EOF\n"


def test_a_signed_consent_form_is_uploaded_and_a_partner_downloads_it(
    browsing, sign_in, make_org, make_user, make_case, make_consent, make_referral
):
    lead = make_org("Lead agency")
    partner_org = make_org("Shelter partner", kind="partner_ngo")
    caseworker = make_user("caseworker", org=lead, display_name="Carla Caseworker")
    partner = make_user("partner", org=partner_org, display_name="Pat Partner")
    case = make_case(lead, assigned_to=caseworker)
    consent = make_consent(case, "assistance", given_on=date.today())
    make_referral(case, partner_org, scope=("given_name", "documents_consent"))

    page = browsing.new_page(width=PHONE_WIDTH)
    sign_in(page, caseworker)
    page.goto(f"/cases/{case.id}")
    with page.expect_navigation():
        page.click("#open-documents")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    with page.expect_navigation():
        page.click("#upload-document")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.select_option("#kind", "consent_form")
    page.fill("#title", "Signed consent form (assistance)")
    page.select_option("#attach", f"consent:{consent.id}")
    page.set_input_files("#file", {"name": "consent signé.pdf", "mimeType": "application/pdf", "buffer": signed_form()})
    assert submit(page) == 200, page.locator(".error-summary").all_inner_texts()
    assert "/documents/" in page.url
    assert page.locator(".flash-success").inner_text() == "Document stored (encrypted)."
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    # An empty submission: the error summary names each missing answer, nothing is stored.
    page.goto(f"/cases/{case.id}/documents/new")
    browsing.expect_status(400)
    assert submit(page) == 400
    assert page.locator(".error-summary li").count() >= 3

    other = browsing.new_page()
    sign_in(other, partner)
    other.goto(f"/partners/cases/{case.id}")
    with other.expect_navigation():
        other.click("#open-documents")
    with other.expect_navigation():
        other.click("text=Signed consent form (assistance)")
    with other.expect_download() as download_info:
        other.click("#download-document")
    download = download_info.value
    assert download.suggested_filename == "consent signé.pdf"
    with open(download.path(), "rb") as received:
        assert received.read() == signed_form()
    browsing.assert_clean()
