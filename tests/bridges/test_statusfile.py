"""StatusFileWatcher: every way a status file changes reaches the callback, once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlroom.bridges import StatusContent, StatusFileError, StatusFileWatcher
from controlroom.testing.waiting import wait_until

TIMEOUT_S = 5.0  # generous: latency is measured by bench/statusfile.py, not asserted here


class Collector:
    """The on_change callback: keeps every delivery, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[StatusContent] = []
        self.threads: set[str] = set()

    def __call__(self, content: StatusContent) -> None:
        with self._lock:
            self._seen.append(content)
            self.threads.add(threading.current_thread().name)

    @property
    def seen(self) -> list[StatusContent]:
        with self._lock:
            return list(self._seen)

    def wait_for(self, sequence: int) -> StatusContent:
        assert wait_until(lambda: len(self.seen) >= sequence, TIMEOUT_S), self.seen
        return self.seen[sequence - 1]


@pytest.fixture
def status_path(tmp_path: Path) -> Path:
    return tmp_path / "status.eot"


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def watcher(status_path: Path, collector: Collector) -> Iterator[StatusFileWatcher]:
    status_path.write_text("idle\n")
    with StatusFileWatcher(status_path, collector) as watching:
        collector.wait_for(1)
        yield watching


def replace_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def test_start_delivers_the_current_content_first(
    watcher: StatusFileWatcher, collector: Collector
) -> None:
    first = collector.seen[0]
    assert (first.sequence, first.state, first.value) == (1, "ok", "idle")
    assert watcher.current == first
    assert collector.threads == {"statusfile:status.eot"}


def test_an_in_place_write_is_delivered(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    status_path.write_text("coffee\nposition: 3\n")
    change = collector.wait_for(2)
    assert (change.sequence, change.value, change.fields) == (2, "coffee", {"position": "3"})
    assert watcher.current == change


def test_an_atomic_replace_is_delivered(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    replace_atomically(status_path, "lunch\n")
    assert collector.wait_for(2).value == "lunch"


def test_a_deleted_file_is_reported_missing(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    status_path.unlink()
    gone = collector.wait_for(2)
    assert gone.state == "missing"
    assert "does not exist" in (gone.error or "")


def test_a_file_created_after_start_is_delivered(status_path: Path, collector: Collector) -> None:
    with StatusFileWatcher(status_path, collector):
        assert collector.wait_for(1).state == "missing"
        status_path.write_text("ready\n")
        assert collector.wait_for(2).value == "ready"


def test_truncate_then_write_delivers_the_written_value_not_the_empty_file(
    status_path: Path, collector: Collector
) -> None:
    status_path.write_text("idle\n")
    # Generous, so a loaded machine's long pause below still falls inside it.
    with StatusFileWatcher(status_path, collector, empty_hold_s=2.0):
        collector.wait_for(1)
        with status_path.open("r+") as stream:
            stream.truncate(0)
            stream.flush()
            # The gap an editor leaves between truncating and writing: longer than settle_s.
            time.sleep(0.05)
            stream.write("after\n")
        assert collector.wait_for(2).value == "after"
        status_path.write_text("next\n")
        assert collector.wait_for(3).value == "next"
    assert [c.text for c in collector.seen] == ["idle", "after", "next"]


def test_a_file_emptied_on_purpose_is_delivered_after_the_hold(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    status_path.write_text("")
    emptied = collector.wait_for(2)
    assert (emptied.state, emptied.text) == ("ok", "")


def test_rewriting_the_same_bytes_is_not_a_change(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    status_path.write_text("idle\n")
    replace_atomically(status_path, "idle\n")
    status_path.write_text("busy\n")
    busy = collector.wait_for(2)
    assert (busy.sequence, busy.value) == (2, "busy")
    assert len(collector.seen) == 2


def test_sequences_count_up_by_one(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    for n in range(2, 7):
        status_path.write_text(f"step {n}\n")
        collector.wait_for(n)
    assert [c.sequence for c in collector.seen] == [1, 2, 3, 4, 5, 6]


def test_bad_content_is_delivered_as_an_error_and_watching_goes_on(
    watcher: StatusFileWatcher, collector: Collector, status_path: Path
) -> None:
    status_path.write_bytes(b"caf\xe9\n")
    bad = collector.wait_for(2)
    assert bad.state == "error"
    assert "not UTF-8" in (bad.error or "")
    status_path.write_text("café\n")
    assert collector.wait_for(3).value == "café"


def test_a_failing_callback_does_not_stop_the_watcher(status_path: Path) -> None:
    delivered: list[int] = []

    def fragile(content: StatusContent) -> None:
        delivered.append(content.sequence)
        raise RuntimeError("the panel fell over")

    with StatusFileWatcher(status_path, fragile):
        status_path.write_text("one\n")
        assert wait_until(lambda: len(delivered) == 2, TIMEOUT_S)
        status_path.write_text("two\n")
        assert wait_until(lambda: len(delivered) == 3, TIMEOUT_S)


def test_stop_ends_the_threads_and_is_idempotent(status_path: Path, collector: Collector) -> None:
    before = set(threading.enumerate())
    watcher = StatusFileWatcher(status_path, collector).start()
    collector.wait_for(1)
    watcher.stop()
    watcher.stop()
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
    status_path.write_text("late\n")
    assert not wait_until(lambda: len(collector.seen) > 1, 0.2)


def test_a_stopped_watcher_starts_again_from_sequence_one(
    status_path: Path, collector: Collector
) -> None:
    watcher = StatusFileWatcher(status_path, collector)
    with watcher:
        collector.wait_for(1)
    status_path.write_text("while stopped\n")
    with watcher:
        again = collector.wait_for(2)
        assert (again.sequence, again.value) == (1, "while stopped")
        status_path.write_text("running\n")
        assert collector.wait_for(3).sequence == 2


def test_a_missing_directory_is_refused_at_start(tmp_path: Path, collector: Collector) -> None:
    watcher = StatusFileWatcher(tmp_path / "nowhere" / "status.eot", collector)
    with pytest.raises(StatusFileError, match="nowhere"):
        watcher.start()
    with pytest.raises(StatusFileError, match="not been started"):
        _ = watcher.current


def test_starting_twice_is_refused(watcher: StatusFileWatcher) -> None:
    with pytest.raises(StatusFileError, match="already started"):
        watcher.start()
