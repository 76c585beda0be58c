"""Upload, list, view, download, replace and delete documents through the pages (CSRF on)."""

from __future__ import annotations

import io
import uuid

from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.db import session
from casework.documents.models import Document
from tests.documents.conftest import document_id_of, pdf_bytes, png_bytes, upload


def test_a_caseworker_uploads_lists_downloads_replaces_and_deletes(world):
    client = world.client_for(world.caseworker)
    content = pdf_bytes(3000)
    doc_id = document_id_of(upload(client, world.case.id, content, name="rapport médical.pdf", title="Clinic report"))

    listing = client.get(f"/cases/{world.case.id}/documents")
    assert listing.status_code == 200
    assert "Clinic report" in listing.get_data(as_text=True)

    page = client.get(f"/documents/{doc_id}")
    assert page.status_code == 200 and "Clinic report" in page.get_data(as_text=True)

    download = client.get(f"/documents/{doc_id}/download")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert 'filename="rapport_medical.pdf"' in download.headers["Content-Disposition"]
    assert "filename*=UTF-8''rapport%20m%C3%A9dical.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    assert "sandbox" in download.headers["Content-Security-Policy"]

    replaced = client.post(
        f"/documents/{doc_id}/replace",
        data={"title": "", "file": (io.BytesIO(png_bytes()), "photo.png")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 302
    again = client.get(f"/documents/{doc_id}/download")
    assert again.headers["Content-Type"] == "image/png" and again.data.startswith(b"\x89PNG")

    preview = client.get(f"/documents/{doc_id}/preview")
    assert preview.status_code == 200 and preview.data.startswith(b"\x89PNG")
    assert preview.headers["Cache-Control"] == "no-store"

    refused = client.post(f"/documents/{doc_id}/delete", data={})
    assert refused.status_code == 400
    deleted = client.post(f"/documents/{doc_id}/delete", data={"confirm": "y"})
    assert deleted.status_code == 302
    assert client.get(f"/documents/{doc_id}/download").status_code == 404
    with world.app.app_context():
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        actions = set(session.execute(select(AuditEvent.action)).scalars())
    assert {"document.upload", "document.view", "document.download", "document.preview"} <= actions
    assert {"document.replace", "document.delete"} <= actions


def test_the_title_and_file_name_are_stored_encrypted(world):
    client = world.client_for(world.caseworker)
    doc_id = document_id_of(upload(client, world.case.id, pdf_bytes(), name="Zephyrine passport.pdf", title="Zq title"))
    with world.app.app_context():
        raw = session.execute(select(Document.title_ct, Document.filename_ct)).one()
        assert b"Zq title" not in raw[0] and b"Zephyrine" not in raw[1]
        assert session.get(Document, uuid.UUID(doc_id)).title == "Zq title"


def test_a_signed_consent_form_attaches_to_its_consent(world, make_consent):
    consent = make_consent(world.case, "assistance")
    client = world.client_for(world.caseworker)
    form = client.get(f"/cases/{world.case.id}/documents/new?attach=consent:{consent.id}")
    assert form.status_code == 200
    assert f'selected value="consent:{consent.id}"' in form.get_data(as_text=True)
    response = client.post(
        f"/cases/{world.case.id}/documents/new",
        data={
            "kind": "consent_form",
            "title": "Signed consent",
            "attach": f"consent:{consent.id}",
            "file": (io.BytesIO(pdf_bytes()), "consent.pdf"),
        },
        content_type="multipart/form-data",
    )
    doc_id = document_id_of(response)
    with world.app.app_context():
        assert session.get(Document, uuid.UUID(doc_id)).consent_id == consent.id


def test_an_attachment_of_another_case_is_refused(world, make_case, make_consent):
    other = make_case(world.lead, assigned_to=world.caseworker)
    foreign = make_consent(other, "assistance")
    client = world.client_for(world.caseworker)
    response = client.post(
        f"/cases/{world.case.id}/documents/new",
        data={
            "kind": "consent_form",
            "title": "Signed consent",
            "attach": f"consent:{foreign.id}",
            "file": (io.BytesIO(pdf_bytes()), "consent.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    with world.app.app_context():
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0


def test_an_upload_without_csrf_token_is_refused(world):
    client = world.client_for(world.caseworker)
    response = client.post(
        f"/cases/{world.case.id}/documents/new",
        data={"kind": "medical", "title": "x", "file": (io.BytesIO(pdf_bytes()), "x.pdf")},
        content_type="multipart/form-data",
        csrf=False,
    )
    assert response.status_code == 400


def test_files_are_refused_on_every_other_route(world):
    client = world.client_for(world.caseworker)
    response = client.post(
        f"/cases/{world.case.id}/notes",
        data={"body": "x", "file": (io.BytesIO(pdf_bytes()), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_the_timeline_lists_changes_to_documents_not_their_reads(world):
    client = world.client_for(world.caseworker)
    doc_id = document_id_of(upload(client, world.case.id, pdf_bytes()))
    client.get(f"/documents/{doc_id}/download")
    text = client.get(f"/cases/{world.case.id}/timeline").get_data(as_text=True)
    assert "Document uploaded" in text
    assert "document.download" not in text and "document.view" not in text
