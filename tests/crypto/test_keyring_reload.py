"""A running process's keyring follows its file: by content (not mtime), atomically, never
taking a malformed file or another deployment's, and never reading the file on every request
of a host that lacks a key."""

from __future__ import annotations

import os
import shutil

import pytest

from casework.crypto import keyring as keyring_module
from casework.crypto.errors import KeyringError, UnknownKeyError
from casework.crypto.keyring import Keyring
from casework.crypto.models import KeyringProcess
from casework.crypto.watch import get_watcher
from casework.db import session


def _grown_copy(path, tmp_path):
    """The file as another host wrote it after `keys add`: one more master key."""
    grown = Keyring.load(path)
    new = grown.add_master_key()
    target = tmp_path / "grown.json"
    grown.save(target)
    return target, new


def test_a_changed_file_is_read_by_content_even_with_the_same_mtime(keyfiles, tmp_path):
    running = Keyring.load(keyfiles.b)
    grown, new = _grown_copy(keyfiles.a, tmp_path)
    stat = keyfiles.b.stat()
    shutil.copyfile(grown, keyfiles.b)
    os.utime(keyfiles.b, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not running.holds(new)
    assert running.reload() is True
    assert running.holds(new)
    assert running.reload() is False  # same content: nothing to do


def test_a_half_written_file_is_refused_and_the_keys_in_memory_stay(keyfiles):
    running = Keyring.load(keyfiles.b)
    before = running.key_ids
    keyfiles.b.write_text('{"version": 1, "master_keys": [{"id": "mk-')  # a copy caught mid-write
    with pytest.raises(KeyringError, match="malformed"):
        running.reload()
    assert running.key_ids == before
    keyfiles.copy_a_to_b()
    running.reload()
    assert running.key_ids == before


def test_another_deployments_file_is_refused(keyfiles, tmp_path):
    running = Keyring.load(keyfiles.b)
    Keyring.generate().save(keyfiles.b)
    with pytest.raises(KeyringError, match="blind-index or audit key"):
        running.reload()
    assert running.key_ids == Keyring.load(keyfiles.a).key_ids


def test_a_missing_key_rereads_the_file_at_most_once_a_second(keyfiles, monkeypatch):
    running = Keyring.load(keyfiles.b)
    reads = []
    real_read = keyring_module._read
    monkeypatch.setattr(keyring_module, "_read", lambda path: reads.append(path) or real_read(path))
    for _ in range(50):
        with pytest.raises(UnknownKeyError):
            running.master("mk-20000101-000000")
    assert len(reads) == 1


def test_the_only_master_key_cannot_be_removed(keyfiles):
    running = Keyring.load(keyfiles.a)
    with pytest.raises(KeyringError, match="only master key"):
        running.remove(running.newest_key_id)


def test_the_watcher_reports_an_unreadable_file_and_carries_on(make_app, keyfiles, casework_logs):
    host_b = make_app(keyring_path=keyfiles.b, node_name="host-b")
    watcher = get_watcher(host_b)
    watcher.poll()
    keyfiles.b.write_text("not json")
    watcher.poll()
    with host_b.app_context():
        row = session.get(KeyringProcess, watcher.instance_id)
        assert row.problem and "malformed" in row.problem
        assert row.key_ids.split() == Keyring.load(keyfiles.a).key_ids  # still the keys it had
    assert "casework.crypto.watch ERROR keyring file not re-read: malformed keyring file" in casework_logs.text
    keyfiles.copy_a_to_b()
    watcher.poll()
    with host_b.app_context():
        assert session.get(KeyringProcess, watcher.instance_id).problem is None
