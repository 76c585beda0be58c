"""Fixtures of the documents tests: the partners' small world (tests/partners/world.py) plus
files of every kind the upload form meets, made in memory (a few kilobytes each)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.partners.world import World, build_world

#: The referral scope that shares medical reports (and nothing else of the documents).
MEDICAL_SCOPE = ("given_name", "age", "documents_medical")


@pytest.fixture
def world(app: Any, make_org: Any, make_user: Any, make_case: Any, login: Any) -> World:
    return build_world(app, make_org, make_user, make_case, login)


def pdf_bytes(size: int = 2048) -> bytes:
    """A PDF header followed by filler up to ``size`` bytes (stored as sent: never parsed)."""
    head = b"%PDF-1.7\n% casework test\n"
    return head + b"0" * max(0, size - len(head) - 6) + b"\n%%EOF"


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF holds a camera model and GPS coordinates."""
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "TraffickerCam 3000"  # Model
    gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def upload_data(content: bytes, name: str = "scan.pdf", kind: str = "medical", title: str = "Clinic report") -> dict:
    return {"kind": kind, "title": title, "attach": "", "file": (io.BytesIO(content), name)}


def upload(client: Any, case_id: Any, content: bytes, **kwargs: Any) -> Any:
    return client.post(
        f"/cases/{case_id}/documents/new", data=upload_data(content, **kwargs), content_type="multipart/form-data"
    )


def document_id_of(response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]
