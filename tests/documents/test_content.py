"""What must not be stored is refused, with a message and nothing half-saved; images come
back without their metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from casework.db import session
from casework.documents.models import Document, DocumentChunk
from tests.documents.conftest import document_id_of, jpeg_with_gps, pdf_bytes, upload

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def _nothing_stored(world) -> None:
    with world.app.app_context():
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(DocumentChunk)).scalar_one() == 0
    root = Path(world.app.config["CASEWORK"].instance_path) / "documents"
    assert not root.exists() or not any(path.is_file() for path in root.rglob("*"))


def test_a_jpeg_with_gps_exif_comes_back_without_it(world):
    original = Image.open(io.BytesIO(jpeg_with_gps()))
    assert original.getexif().get_ifd(0x8825), "the fixture must carry GPS data"
    client = world.client_for(world.caseworker)
    doc_id = document_id_of(upload(client, world.case.id, jpeg_with_gps(), name="IMG_0001.JPG", kind="photo"))
    stored = client.get(f"/documents/{doc_id}/download")
    assert stored.status_code == 200 and stored.headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(stored.data))
    assert image.size == (64, 48)
    assert not image.getexif(), "EXIF survived"
    assert b"Exif" not in stored.data and b"TraffickerCam" not in stored.data


@pytest.mark.parametrize(
    ("content", "name"), [(ELF, "consent.pdf"), (MZ, "scan.jpg"), (b"PK\x03\x04" + b"0" * 99, "x.png")]
)
def test_a_renamed_program_or_archive_is_refused(world, content, name):
    client = world.client_for(world.caseworker)
    response = upload(client, world.case.id, content, name=name)
    assert response.status_code == 400
    assert "This file type cannot be stored" in response.get_data(as_text=True)
    _nothing_stored(world)


def test_an_empty_file_is_refused(world):
    client = world.client_for(world.caseworker)
    response = upload(client, world.case.id, b"", name="empty.pdf")
    assert response.status_code == 400
    _nothing_stored(world)


def test_a_damaged_image_is_refused(world):
    client = world.client_for(world.caseworker)
    response = upload(client, world.case.id, b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, name="x.png")
    assert response.status_code == 400
    assert "This image cannot be read" in response.get_data(as_text=True)
    _nothing_stored(world)


def test_a_file_over_the_limit_is_refused_with_the_limit_named(make_app, make_org, make_user, make_case, login):
    app = make_app(document_max_bytes=200 * 1024)
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    client = app.test_client()
    login(client, worker)
    # Just over the limit: read, refused by the service with a message next to the field.
    over = upload(client, case.id, pdf_bytes(200 * 1024 + 1))
    assert over.status_code == 400
    assert "at most 200 KB" in over.get_data(as_text=True)
    assert "The file is too large" in over.get_data(as_text=True)
    # Far over: the body is refused before it is read (413), still with the limit named.
    far = upload(client, case.id, pdf_bytes(400 * 1024))
    assert far.status_code == 413
    assert "The file is too large" in far.get_data(as_text=True)
    with app.app_context():
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0


def test_a_document_at_the_limit_is_stored(make_app, make_org, make_user, make_case, login):
    app = make_app(document_max_bytes=200 * 1024)
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    client = app.test_client()
    login(client, worker)
    doc_id = document_id_of(upload(client, case.id, pdf_bytes(200 * 1024)))
    assert len(client.get(f"/documents/{doc_id}/download").data) == 200 * 1024


def test_a_refused_title_keeps_nothing(world):
    client = world.client_for(world.caseworker)
    response = upload(client, world.case.id, pdf_bytes(), title="bad\x07title")
    assert response.status_code == 400
    _nothing_stored(world)


def test_a_pdf_is_never_previewed(world):
    client = world.client_for(world.caseworker)
    doc_id = document_id_of(upload(client, world.case.id, pdf_bytes()))
    assert client.get(f"/documents/{doc_id}/preview").status_code == 404
