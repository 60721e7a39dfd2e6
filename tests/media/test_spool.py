"""The spool directory is the upload queue: order, restarts, unfinished writes, tidy-up, size."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub.media.spool import MediaSpool

KEYS = [
    "clips/cam1/2026/12/04/e1.mp4",
    "snapshots/cam1/2026/12/04/e1.jpg",
    "clips/cam2/2026/12/04/e2.mp4",
]


def write(spool: MediaSpool, key: str, data: bytes) -> None:
    spool.path_for(key).write_bytes(data)


def queue(spool: MediaSpool, key: str, data: bytes, **metadata: str) -> None:
    write(spool, key, data)
    spool.enqueue(key, content_type="video/mp4", metadata=metadata)


@pytest.fixture
def spool(tmp_path: Path) -> MediaSpool:
    spool = MediaSpool(tmp_path / "spool", max_bytes=1000)
    assert spool.open() == 0
    return spool


def test_enqueue_returns_the_entry(spool: MediaSpool) -> None:
    write(spool, KEYS[0], b"x" * 10)
    entry = spool.enqueue(KEYS[0], content_type="video/mp4", metadata={"event": "e1"})
    assert (entry.key, entry.path, entry.size) == (KEYS[0], spool.root / KEYS[0], 10)
    assert (entry.content_type, entry.metadata) == ("video/mp4", {"event": "e1"})
    assert spool.pending() == [entry]


def test_enqueue_without_the_file_is_an_error(spool: MediaSpool) -> None:
    with pytest.raises(FileNotFoundError, match=r"^spool: nothing written for clips/cam1/x\.mp4$"):
        spool.enqueue("clips/cam1/x.mp4", content_type="video/mp4", metadata={})
    assert spool.pending() == []


def test_order_survives_a_restart(spool: MediaSpool) -> None:
    for i, key in enumerate(KEYS):
        queue(spool, key, bytes(i + 1), n=str(i))
    restarted = MediaSpool(spool.root, max_bytes=1000)
    assert restarted.open() == 3
    entries = restarted.pending()
    assert [e.key for e in entries] == KEYS
    assert [e.metadata for e in entries] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    assert [e.size for e in entries] == [1, 2, 3]
    assert [e.path.read_bytes() for e in entries] == [bytes(1), bytes(2), bytes(3)]


def test_queue_after_a_restart_with_the_clock_set_back(
    spool: MediaSpool, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(spool, KEYS[0], b"a")
    restarted = MediaSpool(spool.root, max_bytes=1000)
    restarted.open()
    # A device without a real-time clock boots in 1970 until NTP answers.
    monkeypatch.setattr("hub.media.spool.time.time_ns", lambda: 1)
    queue(restarted, KEYS[1], b"b")
    assert [e.key for e in restarted.pending()] == KEYS[:2]


def test_open_removes_files_without_a_queue_entry(
    spool: MediaSpool, caplog: pytest.LogCaptureFixture
) -> None:
    queue(spool, KEYS[0], b"kept")
    write(spool, KEYS[2], b"half-written")  # crashed before enqueue
    restarted = MediaSpool(spool.root, max_bytes=1000)
    with caplog.at_level(logging.WARNING, logger="hub.media.spool"):
        assert restarted.open() == 1
    assert (spool.root / KEYS[0]).read_bytes() == b"kept"
    assert not (spool.root / KEYS[2]).exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"spool: removing unfinished file {spool.root / KEYS[2]}"
    ]


def test_broken_queue_entry_is_dropped(spool: MediaSpool) -> None:
    queue(spool, KEYS[0], b"a")
    queue(spool, KEYS[1], b"b")
    (spool.root / KEYS[0]).unlink()  # its file vanished
    assert [e.key for e in spool.pending()] == [KEYS[1]]
    assert len(list((spool.root / ".queue").glob("*.json"))) == 1


def test_remove_deletes_the_entry_and_tidies_empty_folders(spool: MediaSpool) -> None:
    queue(spool, KEYS[0], b"a")
    queue(spool, KEYS[1], b"b")
    first, second = spool.pending()
    spool.remove(first)
    assert [e.key for e in spool.pending()] == [KEYS[1]]
    assert not (spool.root / "clips").exists()  # clips/cam1/2026/12/04 all went
    assert (spool.root / "snapshots/cam1/2026/12/04").is_dir()
    spool.remove(second)
    assert spool.pending() == []
    assert sorted(p.name for p in spool.root.iterdir()) == [".queue"]
    assert spool.root.is_dir()


def test_remove_keeps_folders_that_still_hold_files(spool: MediaSpool) -> None:
    queue(spool, "clips/cam1/2026/12/04/a.mp4", b"a")
    queue(spool, "clips/cam1/2026/12/04/b.mp4", b"b")
    spool.remove(spool.pending()[0])
    assert sorted(p.name for p in (spool.root / "clips/cam1/2026/12/04").iterdir()) == ["b.mp4"]


def test_bytes_used_and_over_limit(tmp_path: Path) -> None:
    spool = MediaSpool(tmp_path / "spool", max_bytes=150)
    spool.open()
    queue(spool, KEYS[0], bytes(100))
    assert (spool.bytes_used(), spool.over_limit()) == (100, False)
    queue(spool, KEYS[1], bytes(50))
    assert (spool.bytes_used(), spool.over_limit()) == (150, False)  # at the limit is not over it
    queue(spool, KEYS[2], bytes(1))
    assert (spool.bytes_used(), spool.over_limit()) == (151, True)
    write(spool, "clips/cam9/unqueued.mp4", bytes(500))  # not in the queue: not counted
    assert spool.bytes_used() == 151


def test_unsafe_key_is_refused(spool: MediaSpool) -> None:
    with pytest.raises(ValueError, match=r"has an empty, '\.' or '\.\.' segment"):
        spool.path_for("clips/../../etc/passwd")


def test_a_full_spool_drops_the_oldest_segments_and_never_event_media(tmp_path: Path) -> None:
    spool = MediaSpool(tmp_path / "spool", max_bytes=3000)
    spool.open()

    def put(key: str, size: int) -> None:
        spool.path_for(key).write_bytes(b"x" * size)
        spool.enqueue(key, content_type="video/mp4", metadata={})

    put("clips/cam/2026/12/04/old-event.mp4", 1000)  # the oldest of all: still kept
    put("segments/cam/2026/12/04/000000-000.mp4", 1000)
    put("segments/cam/2026/12/04/000100-000.mp4", 1000)
    put("snapshots/cam/2026/12/04/e.jpg", 500)
    put("segments/cam/2026/12/04/000200-000.mp4", 1000)

    evicted = spool.evict_overflow()

    assert [e.key for e in evicted] == [
        "segments/cam/2026/12/04/000000-000.mp4",
        "segments/cam/2026/12/04/000100-000.mp4",
    ]
    assert [e.key for e in spool.pending()] == [
        "clips/cam/2026/12/04/old-event.mp4",
        "snapshots/cam/2026/12/04/e.jpg",
        "segments/cam/2026/12/04/000200-000.mp4",
    ]
    assert spool.bytes_used() == 2500
    assert not (tmp_path / "spool" / "segments/cam/2026/12/04/000000-000.mp4").exists()


def test_a_spool_full_of_event_media_drops_nothing(tmp_path: Path) -> None:
    spool = MediaSpool(tmp_path / "spool", max_bytes=1000)
    spool.open()
    for i in range(3):
        key = f"clips/cam/2026/12/04/e{i}.mp4"
        spool.path_for(key).write_bytes(b"x" * 800)
        spool.enqueue(key, content_type="video/mp4", metadata={})

    assert spool.evict_overflow() == []
    assert len(spool.pending()) == 3
    assert spool.over_limit()
