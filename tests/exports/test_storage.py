"""Where export files wait for download: in the database, encrypted under a per-export data
key (wrapped by the keyring's master key), in chunks, until they expire. Every host of a
deployment sees them; no file is written on any host's disk."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select, update

from casework.crypto.state import read_state
from casework.db import session, utcnow
from casework.exports import storage
from casework.exports.models import ExportRun


@pytest.fixture
def cases(consented_case, export_limits, org):
    """Enough consented cases for a k = 11 release (the system's floor) of the organisation's
    dataset; returns the dataset's id."""
    export_limits()
    for age in [20] * 12 + [30] * 12:
        consented_case(age_at_registration=age)
    return org.id


def _export(client, dataset, path: str = "/exports/microdata", data=None) -> str:
    data = data if data is not None else {"view": "core", "k": "11"}
    response = client.post(path, data={"dataset": str(dataset), **data})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_an_export_made_on_one_host_downloads_on_another(
    app, client, make_app, researcher, login, cases, tmp_path, keyring_file
) -> None:
    location = _export(client_signed_in(client, login, researcher), cases)
    here = client.get(location + "/download")
    assert here.status_code == 200

    # The second host: its own instance folder and its own copy of the keyring, the same database.
    copy = tmp_path / "host2" / "keyring.json"
    copy.parent.mkdir()
    shutil.copyfile(keyring_file, copy)
    other = make_app(create_schema=False, instance_path=tmp_path / "host2" / "instance", keyring_path=copy)
    other_client = other.test_client()
    login(other_client, researcher)
    report = other_client.get(location)
    assert report.status_code == 200 and b"Download the CSV file" in report.data
    there = other_client.get(location + "/download")
    assert there.status_code == 200
    assert there.data == here.data and there.data.startswith(b"yearOfRegistration")
    assert int(there.headers["Content-Length"]) == len(there.data)
    for instance in (tmp_path / "instance", tmp_path / "host2" / "instance"):
        assert not (instance / "exports").exists() or not any((instance / "exports").iterdir())


def client_signed_in(client, login, user):
    login(client, user)
    return client


def test_the_file_is_encrypted_in_chunks_under_its_own_data_key(
    app, client, researcher, login, cases, monkeypatch
) -> None:
    monkeypatch.setattr(storage, "CHUNK_BYTES", 200)
    location = _export(client_signed_in(client, login, researcher), cases)
    download = client.get(location + "/download").data
    assert len(download) > 3 * 200
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        stored = session.get(storage.ExportFile, run.id)
        assert stored is not None and stored.wrapping_key_id == read_state(session).active_key_id
        chunks = (
            session.execute(
                select(storage.ExportChunk.data)
                .where(storage.ExportChunk.file_id == run.id)
                .order_by(storage.ExportChunk.seq)
            )
            .scalars()
            .all()
        )
        assert len(chunks) == -(-len(download) // 200)
        for blob in chunks:
            assert b"yearOfRegistration" not in blob and b"-99" not in blob and b"Prostitution" not in blob
        assert stored.size == len(download) and run.file_bytes == len(download)


def test_chunks_are_read_one_at_a_time(app, client, researcher, login, cases, monkeypatch, query_counter) -> None:
    """Streaming: one chunk in memory at a time, each read by its own small query."""
    monkeypatch.setattr(storage, "CHUNK_BYTES", 100)
    location = _export(client_signed_in(client, login, researcher), cases)
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        count = session.get(storage.ExportFile, run.id).chunks
    with query_counter() as counted:
        response = client.get(location + "/download", buffered=False)
        parts = list(response.response)
        response.close()
    assert len(parts) == count > 5
    chunk_reads = [s for s in counted.statements if "export_chunks" in s]
    assert len(chunk_reads) == count


def test_a_changed_or_moved_chunk_is_never_served(app, client, researcher, login, cases, monkeypatch) -> None:
    monkeypatch.setattr(storage, "CHUNK_BYTES", 100)
    location = _export(client_signed_in(client, login, researcher), cases)
    with app.app_context():
        run_id = session.execute(select(ExportRun.id)).scalar_one()
        first, second = (
            session.execute(
                select(storage.ExportChunk.data)
                .where(storage.ExportChunk.file_id == run_id)
                .order_by(storage.ExportChunk.seq)
                .limit(2)
            )
            .scalars()
            .all()
        )
        # Swap the first two chunks: each is bound to its place, so neither opens.
        for seq, data in ((0, second), (1, first)):
            session.execute(
                update(storage.ExportChunk)
                .where(storage.ExportChunk.file_id == run_id, storage.ExportChunk.seq == seq)
                .values(data=data)
            )
        session.commit()
    assert client.get(location + "/download").status_code == 404


def test_a_truncated_file_is_never_served_as_complete(app, client, researcher, login, cases, monkeypatch) -> None:
    monkeypatch.setattr(storage, "CHUNK_BYTES", 100)
    location = _export(client_signed_in(client, login, researcher), cases)
    with app.app_context():
        run_id = session.execute(select(ExportRun.id)).scalar_one()
        last = session.get(storage.ExportFile, run_id).chunks - 1
        session.execute(
            storage.ExportChunk.__table__.delete().where(
                storage.ExportChunk.file_id == run_id, storage.ExportChunk.seq == last
            )
        )
        session.commit()
    response = client.get(location + "/download")
    # The answer announced the full length and stopped short: browsers report the download failed.
    assert response.status_code == 404 or len(response.data) < int(response.headers["Content-Length"])


def test_expired_files_are_purged_and_no_longer_offered(app, client, researcher, login, cases) -> None:
    location = _export(client_signed_in(client, login, researcher), cases)
    location_table = _export(client, cases, "/exports/table", {"dimensions": ["year", "gender"], "threshold": "10"})
    with app.app_context():
        old = session.execute(select(ExportRun).order_by(ExportRun.started_at)).scalars().first()
        session.execute(
            update(storage.ExportFile)
            .where(storage.ExportFile.id == old.id)
            .values(expires_at=utcnow() - storage.FILE_LIFETIME)
        )
        session.commit()
        expired = str(old.id)
    gone, kept = (location, location_table) if expired in location else (location_table, location)
    assert client.get(gone + "/download").status_code == 404  # expired: refused even before the purge
    with app.app_context():
        assert storage.purge_expired() == 1
        session.commit()
        assert session.get(storage.ExportFile, old.id) is None
        left = session.execute(select(storage.ExportChunk.file_id).distinct()).scalars().all()
        assert [str(x) for x in left] != [] and expired not in [str(x) for x in left]
    assert b"Download the CSV file" not in client.get(gone).data
    assert client.get(kept + "/download").status_code == 200


def test_purge_from_the_command_line(app, runner, client, researcher, login, cases) -> None:
    _export(client_signed_in(client, login, researcher), cases)
    with app.app_context():
        session.execute(update(storage.ExportFile).values(expires_at=utcnow() - storage.FILE_LIFETIME))
        session.commit()
    result = runner.invoke(args=["exports-storage", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 expired export file" in result.output
    with app.app_context():
        assert session.execute(select(storage.ExportChunk)).first() is None
