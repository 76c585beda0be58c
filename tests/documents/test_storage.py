"""Chunked encryption of documents and both stores: round trips of every size, memory flat for
50 MB, and every tampering refused (a flipped bit, a chunk swapped in from another document,
chunks reordered, a chunk dropped from the middle or the end)."""

from __future__ import annotations

import io
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from casework.crypto import DecryptionError
from casework.crypto.aead import Aead, random_key
from casework.crypto.chunks import open_stream, seal_stream
from casework.db import session
from casework.documents.models import DocumentChunk
from casework.documents.store import CHUNK_BYTES, DatabaseStore, FileStore, store_for

SIZES = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]


class Pattern(io.RawIOBase):
    """``size`` bytes of a repeating pattern, produced as read (never whole in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(range(256)) * 4096

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        whole, rest = divmod(n, len(self.block))
        return self.block * whole + self.block[:rest]


def _key() -> Aead:
    return Aead(os.urandom(8), random_key())


def _seal(key: Aead, doc: uuid.UUID, blob: uuid.UUID, source: Any) -> list[bytes]:
    return [sealed for _seq, sealed, _n in seal_stream(key, doc, blob, source, CHUNK_BYTES)]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_of_every_size(size):
    key, doc, blob = _key(), uuid.uuid4(), uuid.uuid4()
    plain = os.urandom(size)
    sealed = _seal(key, doc, blob, io.BytesIO(plain))
    assert len(sealed) == max(1, -(-size // CHUNK_BYTES))
    assert b"".join(open_stream(key, doc, blob, len(sealed), sealed)) == plain


def _tampered(kind: str) -> tuple[Aead, uuid.UUID, uuid.UUID, list[bytes], int]:
    key, doc, blob = _key(), uuid.uuid4(), uuid.uuid4()
    sealed = _seal(key, doc, blob, io.BytesIO(os.urandom(3 * CHUNK_BYTES + 5)))
    count = len(sealed)
    if kind == "flipped":
        chunk = bytearray(sealed[1])
        chunk[-20] ^= 0x01
        sealed[1] = bytes(chunk)
    elif kind == "swapped":  # the same place of another document under the same case key
        other = _seal(key, uuid.uuid4(), uuid.uuid4(), io.BytesIO(os.urandom(3 * CHUNK_BYTES + 5)))
        sealed[2] = other[2]
    elif kind == "reordered":
        sealed[1], sealed[2] = sealed[2], sealed[1]
    elif kind == "dropped_middle":
        del sealed[1]
    elif kind == "dropped_last":
        del sealed[-1]
    elif kind == "dropped_last_and_count":  # the row's count lowered to match
        del sealed[-1]
        count -= 1
    elif kind == "extra":
        sealed.append(sealed[-1])
    return key, doc, blob, sealed, count


@pytest.mark.parametrize(
    "kind", ["flipped", "swapped", "reordered", "dropped_middle", "dropped_last", "dropped_last_and_count", "extra"]
)
def test_a_tampered_stream_is_refused(kind):
    key, doc, blob, sealed, count = _tampered(kind)
    with pytest.raises(DecryptionError):
        b"".join(open_stream(key, doc, blob, count, sealed))


def test_a_chunk_of_another_version_of_the_same_document_is_refused():
    key, doc = _key(), uuid.uuid4()
    old = _seal(key, doc, uuid.uuid4(), io.BytesIO(b"a" * 10))
    new_blob = uuid.uuid4()
    with pytest.raises(DecryptionError):
        b"".join(open_stream(key, doc, new_blob, 1, old))


def test_fifty_megabytes_round_trip_with_flat_memory(tmp_path):
    """Seal 50 MB into a file store and read it back: peak traced memory stays at a few
    chunks, not the file (the benchmark bench/documents_bench.py measures it over HTTP)."""
    store = FileStore(tmp_path)
    key, doc, blob = _key(), uuid.uuid4(), uuid.uuid4()
    size = 50 * 1024 * 1024
    tracemalloc.start()
    try:
        count = 0
        for seq, sealed, _n in seal_stream(key, doc, blob, Pattern(size), CHUNK_BYTES):
            _put_file(store, blob, seq, sealed)
            count = seq + 1
        total = 0
        for plain in open_stream(key, doc, blob, count, store.iter_chunks(blob)):
            total += len(plain)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size and count == 100
    assert peak < 8 * CHUNK_BYTES, f"peak {peak} bytes"


def _put_file(store: FileStore, blob: uuid.UUID, seq: int, data: bytes) -> None:
    directory = store._dir(blob)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{seq:08d}").write_bytes(data)


def _stores(app: Any) -> Iterator[Any]:
    yield FileStore(app.config["CASEWORK"].instance_path / "documents")
    from casework.db import get_db

    yield DatabaseStore(get_db(app).engine)


def _check_store(app: Any, store: Any) -> None:
    key, doc = _key(), uuid.uuid4()
    blobs = {}
    for size in SIZES:
        blob = uuid.uuid4()
        for seq, sealed, _n in seal_stream(key, doc, blob, io.BytesIO(b"x" * size), CHUNK_BYTES):
            store.put_chunk(blob, seq, sealed)
        blobs[blob] = size
    session.commit()
    for blob, size in blobs.items():
        chunks = list(store.iter_chunks(blob))
        assert b"".join(open_stream(key, doc, blob, len(chunks), chunks)) == b"x" * size
    # A transaction that does not commit keeps nothing it wrote, and deletes nothing.
    lost = uuid.uuid4()
    store.put_chunk(lost, 0, b"sealed")
    first = next(iter(blobs))
    store.delete(first)
    session.rollback()
    assert list(store.iter_chunks(lost)) == []
    assert list(store.iter_chunks(first))
    # A committed delete removes every chunk.
    store.delete(first)
    session.commit()
    assert list(store.iter_chunks(first)) == []


def test_the_file_store_and_the_database_store(app):
    with app.app_context():
        for store in _stores(app):
            _check_store(app, store)


@pytest.mark.postgres
def test_the_database_store_on_postgres(make_app):
    app = make_app()
    with app.app_context():
        assert isinstance(store_for(app), DatabaseStore), "PostgreSQL shares one store between hosts"
        _check_store(app, store_for(app))


def test_the_store_is_chosen_by_configuration(make_app):
    assert isinstance(store_for(make_app()), FileStore)  # SQLite: the embedded default
    assert isinstance(store_for(make_app(document_store="database")), DatabaseStore)


def test_a_chunk_altered_in_the_database_is_refused_on_download(make_app, make_org, make_user, make_case, login):
    from tests.documents.conftest import document_id_of, pdf_bytes, upload

    app = make_app(document_store="database")
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    client = app.test_client()
    login(client, worker)
    doc_id = document_id_of(upload(client, case.id, pdf_bytes(CHUNK_BYTES * 2 + 10)))
    assert client.get(f"/documents/{doc_id}/download").status_code == 200
    with app.app_context():
        session.execute(update(DocumentChunk).where(DocumentChunk.seq == 0).values(data=b"\x01" + b"\x00" * 80))
        session.commit()
    assert client.get(f"/documents/{doc_id}/download").status_code == 422


@pytest.mark.postgres
def test_upload_download_replace_and_delete_on_postgres(make_app, make_org, make_user, make_case, login):
    """The deployment's store (PostgreSQL, document_chunks): a multi-chunk round trip through
    the pages, a replacement that leaves no chunk of the old version, a delete that leaves none."""
    from sqlalchemy import func, select

    from tests.documents.conftest import document_id_of, pdf_bytes, upload

    app = make_app()
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    client = app.test_client()
    login(client, worker)
    content = pdf_bytes(2 * CHUNK_BYTES + 99)
    doc_id = document_id_of(upload(client, case.id, content))
    assert client.get(f"/documents/{doc_id}/download").data == content
    replacement = pdf_bytes(CHUNK_BYTES + 1)
    answer = client.post(
        f"/documents/{doc_id}/replace",
        data={"title": "", "file": (io.BytesIO(replacement), "v2.pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    assert client.get(f"/documents/{doc_id}/download").data == replacement
    with app.app_context():
        assert session.execute(select(func.count()).select_from(DocumentChunk)).scalar_one() == 2
    assert client.post(f"/documents/{doc_id}/delete", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert session.execute(select(func.count()).select_from(DocumentChunk)).scalar_one() == 0
