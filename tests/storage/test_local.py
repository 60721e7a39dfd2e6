"""Faults and layout of the local-directory backend."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

import storage.local
from storage.base import LockMode, ObjectLock
from storage.errors import InvalidKey, ObjectLocked, StorageError, StorageUnavailable
from storage.local import LocalObjectStore
from storage.presign import PresignError, sign_object_url, verify_object_signature

SIGNING_KEY = b"local-test-signing-key"


@pytest.fixture
async def local(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "deep" / "objects", signing_key=SIGNING_KEY, base_url="http://hub/")
    await store.start()
    return store


def _leftovers(root: Path) -> list[str]:
    """Temp files a failed write might have left behind."""
    return sorted(p.name for p in root.rglob("*.tmp"))


async def test_start_creates_the_root_with_parents(local: LocalObjectStore, tmp_path: Path) -> None:
    assert local.root == tmp_path / "deep" / "objects"
    assert local.root.is_dir()
    await local.ping()  # answers: no StorageUnavailable


async def test_vanished_root_is_unavailable_and_not_recreated(local: LocalObjectStore) -> None:
    await local.put("clips/a.mp4", b"a", content_type="video/mp4")
    shutil.rmtree(local.root)
    expected = f"local storage root {local.root} is missing (deleted or unmounted?)"
    with pytest.raises(StorageUnavailable) as ping_err:
        await local.ping()
    assert str(ping_err.value) == expected
    with pytest.raises(StorageUnavailable) as put_err:
        await local.put("clips/b.mp4", b"b", content_type="video/mp4")
    assert str(put_err.value) == expected
    assert not local.root.exists()
    for call in (
        local.get("clips/a.mp4"),
        local.stat("clips/a.mp4"),
        local.list(),
        local.delete("clips/a.mp4"),
    ):
        with pytest.raises(StorageUnavailable) as err:
            await call
        assert str(err.value) == expected
    await local.start()
    assert (await local.put("clips/b.mp4", b"b", content_type="video/mp4")).size == 1


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (errno.ENOSPC, "disk full"),
        (errno.EDQUOT, "disk full"),
        (errno.EROFS, "read-only filesystem"),
        (errno.EACCES, "permission denied"),
    ],
)
@pytest.mark.parametrize("stage", ["replace", "fsync"])
async def test_disk_faults_are_unavailable_and_leave_the_old_object(
    local: LocalObjectStore, monkeypatch: pytest.MonkeyPatch, code: int, phrase: str, stage: str
) -> None:
    await local.put("clips/a.mp4", b"old", content_type="video/mp4", metadata={"v": "1"})

    def fail(*_args: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, stage, fail)
    with pytest.raises(StorageUnavailable) as err:
        await local.put("clips/a.mp4", b"new-bytes", content_type="video/mp4", metadata={"v": "2"})
    monkeypatch.undo()
    assert str(err.value).startswith(f"local storage at {local.root}: {phrase}")
    assert _leftovers(local.root) == []
    assert await local.get("clips/a.mp4") == b"old"
    assert (await local.stat("clips/a.mp4")).metadata == {"v": "1"}


async def test_failed_copy_of_a_file_leaves_no_temp(
    local: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"x" * 10)

    def half_copy(_source: Path, out: IO[bytes], _digest: object) -> None:
        out.write(b"xxxxx")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage.local, "_copy_hashing", half_copy)
    with pytest.raises(StorageUnavailable) as err:
        await local.put("clips/c.mp4", source, content_type="video/mp4")
    assert str(err.value) == f"local storage at {local.root}: I/O error ([Errno 5] Input/output error)"
    assert _leftovers(local.root) == []
    assert not local.path_of("clips/c.mp4").exists()


async def test_missing_source_file_is_a_caller_error(local: LocalObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        await local.put("clips/c.mp4", tmp_path / "nope.mp4", content_type="video/mp4")
    assert str(err.value) == f"cannot store 'clips/c.mp4': source file {tmp_path / 'nope.mp4'} does not exist"


async def test_etag_is_sha256_and_sidecar_is_hidden(local: LocalObjectStore) -> None:
    info = await local.put("clips/a.mp4", b"payload", content_type="video/mp4")
    assert info.etag == hashlib.sha256(b"payload").hexdigest()
    assert local.path_of("clips/a.mp4") == local.root / "clips" / "a.mp4"
    assert local.path_of("clips/a.mp4").read_bytes() == b"payload"
    (local.root / "clips" / "a.mp4~deadbeef.tmp").write_bytes(b"half")  # a crashed write
    assert [i.key for i in await local.list()] == ["clips/a.mp4"]


async def test_file_without_sidecar_gets_defaults(local: LocalObjectStore) -> None:
    (local.root / "dropped.bin").write_bytes(b"12345")
    info = await local.stat("dropped.bin")
    assert (info.size, info.content_type, info.etag, info.metadata) == (5, "application/octet-stream", "", {})


async def test_stale_sidecar_is_ignored(local: LocalObjectStore) -> None:
    await local.put("a.txt", b"short", content_type="text/plain", metadata={"x": "1"})
    local.path_of("a.txt").write_bytes(b"longer than before")  # as if a crash hit between the renames
    info = await local.stat("a.txt")
    assert (info.size, info.content_type, info.metadata) == (18, "application/octet-stream", {})


async def test_key_under_an_object_conflicts(local: LocalObjectStore) -> None:
    await local.put("a", b"1", content_type="text/plain")
    with pytest.raises(StorageError) as err:
        await local.put("a/b", b"2", content_type="text/plain")
    assert not isinstance(err.value, StorageUnavailable)
    assert "conflicts with an existing object" in str(err.value)


def test_path_of_refuses_unsafe_keys(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path, signing_key=SIGNING_KEY, base_url="http://hub")
    with pytest.raises(InvalidKey):
        store.path_of("../etc/passwd")


def test_signature_is_deterministic_and_key_bound() -> None:
    first = sign_object_url("a/b.mp4", 1_800_000_000, b"k1")
    assert first == sign_object_url("a/b.mp4", 1_800_000_000, b"k1")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first not in (
        sign_object_url("a/b.mp4", 1_800_000_001, b"k1"),
        sign_object_url("a/b.mp40", 1_800_000_000, b"k1"),
        sign_object_url("a/b.mp4", 1_800_000_000, b"k2"),
    )


@pytest.mark.parametrize("signature", ["", "zz", "é" * 64])
def test_garbage_signature_does_not_match(signature: str) -> None:
    with pytest.raises(PresignError) as err:
        verify_object_signature("a/b.mp4", 1_800_000_000, signature, b"k1", now=0.0)
    assert str(err.value) == "signature does not match"


def test_empty_signing_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="signing_key is empty"):
        LocalObjectStore(tmp_path, signing_key=b"", base_url="http://hub")


# -- lock records ----------------------------------------------------------------------------------


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(tmp_path: Path) -> tuple[LocalObjectStore, Clock]:
    clock = Clock(T0)
    store = LocalObjectStore(
        tmp_path / "objects", signing_key=SIGNING_KEY, base_url="http://hub/", clock=clock
    )
    await store.start()
    return store, clock


async def test_the_lock_record_lies_beside_the_object_and_is_never_listed(
    clocked: tuple[LocalObjectStore, Clock],
) -> None:
    store, _ = clocked
    await store.put("clips/a.mp4", b"clip", content_type="video/mp4")
    await store.lock("clips/a.mp4", ObjectLock(LockMode.COMPLIANCE, T0 + timedelta(days=30), legal_hold=True))

    record = json.loads((store.root / ".lock~" / "clips" / "a.mp4.json").read_text())
    assert record == {"mode": "compliance", "retain_until": "2027-01-03T12:00:00+00:00", "legal_hold": True}
    assert [info.key for info in await store.list()] == ["clips/a.mp4"]


async def test_a_retention_runs_out_on_its_date_and_the_record_goes_with_the_object(
    clocked: tuple[LocalObjectStore, Clock],
) -> None:
    store, clock = clocked
    await store.put("clips/a.mp4", b"clip", content_type="video/mp4")
    until = T0 + timedelta(days=30)
    await store.lock("clips/a.mp4", ObjectLock(LockMode.COMPLIANCE, until))
    clock.now = until - timedelta(seconds=1)
    with pytest.raises(ObjectLocked):
        await store.delete("clips/a.mp4")

    clock.now = until

    await store.delete("clips/a.mp4")
    assert not (store.root / ".lock~" / "clips" / "a.mp4.json").exists()
    await store.put("clips/a.mp4", b"new", content_type="video/mp4")  # a new object starts unlocked
    assert await store.lock_of("clips/a.mp4") == ObjectLock()


async def test_a_damaged_lock_record_counts_as_a_legal_hold(clocked: tuple[LocalObjectStore, Clock]) -> None:
    store, _ = clocked
    await store.put("clips/a.mp4", b"clip", content_type="video/mp4")
    await store.lock("clips/a.mp4", ObjectLock(legal_hold=True))
    (store.root / ".lock~" / "clips" / "a.mp4.json").write_text("{not json")

    assert await store.lock_of("clips/a.mp4") == ObjectLock(legal_hold=True)
    with pytest.raises(ObjectLocked):
        await store.delete("clips/a.mp4")


async def test_a_stale_record_of_a_vanished_object_locks_nothing(
    clocked: tuple[LocalObjectStore, Clock],
) -> None:
    store, _ = clocked
    await store.put("clips/a.mp4", b"clip", content_type="video/mp4")
    await store.lock("clips/a.mp4", ObjectLock(legal_hold=True))
    store.path_of("clips/a.mp4").unlink()  # as a crash in the middle of a delete could leave it

    await store.delete("clips/a.mp4")  # nothing there: not an error, and the record goes
    await store.put("clips/a.mp4", b"again", content_type="video/mp4")

    assert await store.lock_of("clips/a.mp4") == ObjectLock()
    await store.delete("clips/a.mp4")
    assert await store.list() == []


async def test_retention_dates_are_kept_in_whole_seconds(clocked: tuple[LocalObjectStore, Clock]) -> None:
    store, _ = clocked
    await store.put("a.jpg", b"jpeg", content_type="image/jpeg")
    await store.lock("a.jpg", ObjectLock(LockMode.GOVERNANCE, T0 + timedelta(hours=1, microseconds=1)))
    assert await store.lock_of("a.jpg") == ObjectLock(LockMode.GOVERNANCE, T0 + timedelta(hours=1, seconds=1))
