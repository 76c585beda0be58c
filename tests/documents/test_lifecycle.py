"""A document's life with its case: erasure shreds it, key rotation leaves the file untouched,
subject access and the victim's summary list it (never its content)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from sqlalchemy import func, select

from casework.cases.models import Case
from casework.crypto import DecryptionError
from casework.crypto.chunks import open_stream
from casework.db import session
from casework.documents.models import Document, DocumentChunk
from casework.documents.store import FileStore
from tests.documents.conftest import document_id_of, pdf_bytes, upload

REASON = "The person asked for their data to be erased (request dated last week)."


def _erase(world) -> None:
    client = world.client_for(world.supervisor)
    with world.app.app_context():
        version = session.get(Case, world.case.id).version_id
    data = {
        "reason": REASON,
        "reason_code": "person_request",
        "confirm_reference": world.case.reference,
        "version_id": version,
    }
    assert client.post(f"/cases/{world.case.id}/erase", data=data).status_code == 302


def test_erasure_leaves_nothing_decryptable(world, tmp_path):
    client = world.client_for(world.caseworker)
    doc_id = uuid.UUID(document_id_of(upload(client, world.case.id, pdf_bytes(600 * 1024), title="Zq report")))
    store_root = Path(world.app.config["CASEWORK"].instance_path) / "documents"
    with world.app.app_context():
        document = session.get(Document, doc_id)
        blob_id, count = document.blob_id, document.chunk_count
        case = session.get(Case, world.case.id)
        wrapped = case.wrapped_key
    # What an attacker kept before the erasure: the ciphertext (a backup), and the wrapped key.
    kept = tmp_path / "backup"
    shutil.copytree(store_root, kept)
    assert wrapped is not None and count == 2

    _erase(world)

    assert not any(path.is_file() for path in store_root.rglob("*")), "the chunks are still on disk"
    with world.app.app_context():
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(DocumentChunk)).scalar_one() == 0
        case = session.get(Case, world.case.id)
        assert case.wrapped_key is None and case.data_key() is None
        # The copied ciphertext opens under no key the deployment still has: the case's own key
        # is gone, and another case's key does not open it.
        other = Case(reference="CT-2099-999999", owner_org_id=world.lead.id, opened_on=case.opened_on)
        other.year_of_registration = 2099
        chunks = list(FileStore(kept).iter_chunks(blob_id))
        assert len(chunks) == 2
        try:
            b"".join(open_stream(other.data_key(), doc_id, blob_id, count, chunks))
        except DecryptionError:
            pass
        else:  # pragma: no cover - the assertion that matters
            raise AssertionError("a stranger's key opened the document")
        session.rollback()
    assert client.get(f"/documents/{doc_id}/download").status_code == 404


def test_key_rotation_rewraps_the_case_key_and_leaves_the_file_alone(
    make_app, make_org, make_user, make_case, login, keyring_file, tmp_path
):
    keyring = tmp_path / "keyring.json"
    shutil.copyfile(keyring_file, keyring)
    app = make_app(keyring_path=keyring, document_store="database", backup_retention_days=0)
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    client = app.test_client()
    login(client, worker)
    content = pdf_bytes(700 * 1024)
    doc_id = document_id_of(upload(client, case.id, content))
    with app.app_context():
        before_key = session.get(Case, case.id).wrapping_key_id
        before_chunks = list(session.execute(select(DocumentChunk.data).order_by(DocumentChunk.seq)).scalars())
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--wait", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert session.get(Case, case.id).wrapping_key_id != before_key
        after_chunks = list(session.execute(select(DocumentChunk.data).order_by(DocumentChunk.seq)).scalars())
    assert after_chunks == before_chunks, "rotation must not re-encrypt files"
    assert client.get(f"/documents/{doc_id}/download").data == content


def test_subject_access_and_the_victims_summary_list_the_documents(world):
    client = world.client_for(world.caseworker)
    upload(client, world.case.id, pdf_bytes(), name="passport.pdf", kind="identity_document", title="Passport scan")
    record = json.loads(client.get(f"/cases/{world.case.id}/subject-access").data)
    assert [(d["kind"], d["title"], d["filename"]) for d in record["documents"]] == [
        ("identity_document", "Passport scan", "passport.pdf")
    ]
    assert "blob_id" not in record["documents"][0]
    page = client.get(f"/cases/{world.case.id}/summary", query_string={"recipient": "victim"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Passport scan" in text and "Identity document" in text
    assert client.get(f"/cases/{world.case.id}/summary.pdf", query_string={"recipient": "victim"}).status_code == 200


def test_subject_access_with_the_files_is_a_zip_of_the_record_and_every_document(world, make_referral):
    import io
    import zipfile

    from casework.audit.models import AuditEvent

    client = world.client_for(world.caseworker)
    first = pdf_bytes(1200 * 1024)  # three chunks
    second = pdf_bytes(10)
    upload(client, world.case.id, first, name="rapport médical.pdf", title="Clinic report")
    upload(client, world.case.id, second, name="../../etc/passwd", kind="other", title="Odd name")
    response = client.get(f"/cases/{world.case.id}/subject-access.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [
        "subject-access.json",
        "documents/001-rapport_medical.pdf",
        "documents/002-passwd.pdf",
    ]
    assert archive.read("documents/001-rapport_medical.pdf") == first
    assert archive.read("documents/002-passwd.pdf") == second
    record = json.loads(archive.read("subject-access.json"))
    assert [d["title"] for d in record["documents"]] == ["Clinic report", "Odd name"]
    with world.app.app_context():
        event = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "case.subject_access").order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
        assert event.details == {"format": "zip", "documents": 2}
    make_referral(world.case, world.partner_org, scope=("given_name", "documents_medical"))
    assert world.client_for(world.partner).get(f"/cases/{world.case.id}/subject-access.zip").status_code == 403
