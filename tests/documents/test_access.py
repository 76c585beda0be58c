"""Who reaches a document: staff in scope; a partner only the kinds its referral shares, while
consent is in force; a break-glass visitor reads only; researchers and administrators never.
Every route answers an outsider 404 (or 403 for a role that never may), and never leaks."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from casework.audit.models import AuditEvent
from casework.consent.models import Consent
from casework.db import session
from tests.documents.conftest import MEDICAL_SCOPE, document_id_of, pdf_bytes, png_bytes, upload

READ_ROUTES = ("/documents/{id}", "/documents/{id}/download", "/documents/{id}/preview")
WRITE_ROUTES = ("/documents/{id}/replace", "/documents/{id}/delete")


@pytest.fixture
def shared(world, make_referral):
    """A medical photo (shared with the partner by its referral) and an identity scan (not)."""
    referral = make_referral(world.case, world.partner_org, scope=MEDICAL_SCOPE)
    client = world.client_for(world.caseworker)
    medical = document_id_of(upload(client, world.case.id, png_bytes(), name="clinic.png", title="Clinic photo"))
    identity = document_id_of(
        upload(client, world.case.id, png_bytes(), name="pass.png", kind="identity_document", title="Zq passport")
    )
    return referral, medical, identity


def _all_routes(doc_id: str) -> list[tuple[str, str]]:
    routes = [("GET", r.format(id=doc_id)) for r in READ_ROUTES + WRITE_ROUTES]
    return routes + [("POST", r.format(id=doc_id)) for r in WRITE_ROUTES]


def _call(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    if url.endswith("/replace"):
        return client.post(url, data={"file": (io.BytesIO(pdf_bytes()), "x.pdf")}, content_type="multipart/form-data")
    return client.post(url, data={"confirm": "y"})


def test_a_partner_gets_the_shared_kind_only(world, shared):
    _referral, medical, identity = shared
    client = world.client_for(world.partner)
    listing = client.get(f"/cases/{world.case.id}/documents")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "Clinic photo" in text and "Zq passport" not in text
    assert client.get(f"/documents/{medical}/download").status_code == 200
    assert client.get(f"/documents/{medical}/preview").status_code == 200
    for method, url in _all_routes(identity)[:3]:
        assert _call(client, method, url).status_code == 404, (method, url)
    # The partner reads, never changes: replace and delete refuse by role (403), before any
    # document is looked up: the same answer for a shared one, an unshared one and none.
    nowhere = str(uuid.uuid4())
    for doc in (medical, identity):
        for (method, url), (_m, none_url) in zip(_all_routes(doc)[3:], _all_routes(nowhere)[3:], strict=True):
            assert _call(client, method, url).status_code == _call(client, method, none_url).status_code == 403
    with world.app.app_context():
        refusals = session.execute(select(AuditEvent.action).where(AuditEvent.outcome == "refused")).scalars().all()
    assert "document.load" in refusals


def test_a_partner_loses_every_document_when_consent_is_withdrawn(world, shared):
    referral, medical, _identity = shared
    with world.app.app_context():
        session.execute(
            update(Consent)
            .where(Consent.id == referral.consent_id)
            .values(withdrawn_on=date.today() - timedelta(days=1))
        )
        session.commit()
    client = world.client_for(world.partner)
    assert client.get(f"/cases/{world.case.id}/documents").status_code == 404
    for method, url in _all_routes(medical)[:3]:
        assert _call(client, method, url).status_code == 404, (method, url)


def test_outsiders_get_nothing(world, shared):
    _referral, medical, identity = shared
    for user in (world.other_partner, world.other_caseworker, world.researcher, world.admin):
        client = world.client_for(user)
        assert client.get(f"/cases/{world.case.id}/documents").status_code in (403, 404)
        for doc in (medical, identity):
            for method, url in _all_routes(doc):
                response = _call(client, method, url)
                assert response.status_code in (403, 404), (user.role, method, url)
                assert b"Zq passport" not in response.data


def test_a_break_glass_visitor_reads_but_never_changes(world, shared, make_user):
    from casework.cases.models import BreakGlassAccess
    from casework.db import utcnow

    _referral, medical, _identity = shared
    visitor = make_user("supervisor", org=world.other_lead)
    with world.app.app_context():
        session.add(
            BreakGlassAccess(
                case_id=world.case.id, user_id=visitor.id, granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=1)
            )
        )
        session.commit()
    client = world.client_for(visitor)
    assert client.get(f"/documents/{medical}/download").status_code == 200
    assert client.get(f"/cases/{world.case.id}/documents/new").status_code == 403
    for method, url in _all_routes(medical)[3:]:
        assert _call(client, method, url).status_code == 403, (method, url)


def test_every_download_is_on_record(world, shared):
    _referral, medical, _identity = shared
    client = world.client_for(world.partner)
    client.get(f"/documents/{medical}/download")
    with world.app.app_context():
        event = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "document.download").order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
        assert event is not None and event.target_id == medical and event.actor_id == world.partner.id


def test_a_partner_never_sees_documents_of_another_organisations_service(world, shared):
    from casework.assistance.models import MedicalAssistance
    from casework.documents.models import Document

    _referral, medical, _identity = shared
    with world.app.app_context():
        service = MedicalAssistance(
            case_id=world.case.id, status="in_progress", provider_org_id=world.other_partner_org.id
        )
        session.add(service)
        session.flush()
        session.get(Document, uuid.UUID(medical)).service_id = service.id
        session.commit()
    client = world.client_for(world.partner)
    assert client.get(f"/documents/{medical}/download").status_code == 404
    assert "Clinic photo" not in client.get(f"/cases/{world.case.id}/documents").get_data(as_text=True)
    assert world.client_for(world.caseworker).get(f"/documents/{medical}/download").status_code == 200


def test_every_document_kind_has_a_referral_scope():
    from casework import vocab
    from casework.access import DOCUMENT_KIND_SCOPES, SCOPE_TO_FIELDS, document_field

    assert set(DOCUMENT_KIND_SCOPES) == {code.code for code in vocab.DOCUMENT_KINDS}
    for kind, scope in DOCUMENT_KIND_SCOPES.items():
        assert scope in vocab.REFERRAL_SCOPE_FIELDS
        assert SCOPE_TO_FIELDS[scope] == {document_field(kind)}
