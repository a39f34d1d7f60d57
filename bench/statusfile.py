"""Watched status file: milliseconds from writing the file to the callback.

Prints one JSON object::

    {"p50_ms", "p99_ms", "changes", "missed",
     "watchdog_raw": {"p50_ms", "p99_ms"}, "stat_poll_1ms": {"p50_ms", "p99_ms"}, "rounds"}

The top-level figures are :class:`StatusFileWatcher` (debounced, read and
parsed) from just before the write starts to ``on_change``. Two baselines run
in the same rounds, alternating with it: ``watchdog_raw`` is the first bare
watchdog event for the file (no debounce, no read: the floor of using
watchdog; for an in-place write that is the *open*, before any data is
there), ``stat_poll_1ms`` a thread polling ``os.stat`` every millisecond
(what a watcher-less bridge would do, at the price of a busy thread). Most
of the watcher's extra time is on purpose: it waits for the writer to close
the file, then for ``settle_s`` (2 ms) of quiet.
Changes alternate between an in-place rewrite and an atomic replace, each
after a short pause, as a status file changes in use. The writer is a child
process, as the device's writer is in use (in one process it would share the
watcher's GIL); both sides read ``CLOCK_MONOTONIC``, which is system-wide.
Each figure is the median over rounds of that round's percentile. Target:
p99 well within 100 ms.

    python bench/statusfile.py [--changes 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from controlroom.bridges import StatusContent, StatusFileWatcher

# CLOCK_MONOTONIC on Linux: one clock for the whole system, so two processes compare.
clock = time.monotonic

PAUSE_S = 0.02  # between changes: lets each change arrive as one, like a real status file
MISS_S = 2.0

# A subject watches a path and calls back with the time it noticed a change.
Subject = Callable[[Path, Callable[[float], None]], AbstractContextManager[object]]


@contextmanager
def controlroom_watcher(path: Path, noticed: Callable[[float], None]) -> Iterator[object]:
    def on_change(content: StatusContent) -> None:
        if content.sequence > 1:
            noticed(clock())

    with StatusFileWatcher(path, on_change) as watcher:
        yield watcher


class _RawHandler(FileSystemEventHandler):
    def __init__(self, path: str, noticed: Callable[[float], None]) -> None:
        self._path, self._noticed = path, noticed

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {os.fsdecode(event.src_path), os.fsdecode(event.dest_path)}
        if self._path in paths:
            self._noticed(clock())


@contextmanager
def watchdog_raw(path: Path, noticed: Callable[[float], None]) -> Iterator[object]:
    observer = Observer()
    observer.schedule(_RawHandler(str(path), noticed), str(path.parent))
    observer.start()
    try:
        yield observer
    finally:
        observer.stop()
        observer.join()


@contextmanager
def stat_poll_1ms(path: Path, noticed: Callable[[float], None]) -> Iterator[object]:
    stop = threading.Event()

    def signature() -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def poll() -> None:
        last = signature()
        while not stop.wait(0.001):
            if (now := signature()) != last:
                last = now
                noticed(clock())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join()


def write_change(path: Path, n: int) -> None:
    text = f"change {n}\nsequence: {n}\n"
    if n % 2:
        path.write_text(text)
    else:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)


def writer() -> None:
    """The child: for each ``n path`` line, print the clock, then write change ``n``."""
    for line in sys.stdin:
        n, path = line.split(maxsplit=1)
        print(repr(clock()), flush=True)
        write_change(Path(path.strip()), int(n))


class Writer:
    """A writer process, so the writes do not compete with the watcher for the GIL."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def write(self, path: Path, n: int) -> float:
        """Have change ``n`` written; the clock just before the write."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(f"{n} {path}\n")
        self._proc.stdin.flush()
        return float(self._proc.stdout.readline())

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(5)


def one_round(
    subject: Subject, writer: Writer, directory: Path, changes: int
) -> tuple[list[float], int]:
    """Latencies in seconds of ``changes`` changes, and how many never arrived."""
    path = directory / "status.eot"
    path.write_text("start\n")
    arrived = threading.Event()
    first: list[float] = []

    def noticed(at: float) -> None:
        if not arrived.is_set():
            first.append(at)
            arrived.set()

    latencies, missed = [], 0
    with subject(path, noticed):
        for n in range(changes):
            time.sleep(PAUSE_S)
            first.clear()
            arrived.clear()
            started = writer.write(path, n)
            if arrived.wait(MISS_S):
                latencies.append(first[0] - started)
            else:
                missed += 1
    return latencies, missed


def figures(rounds: list[list[float]]) -> dict[str, float]:
    def pct(samples: list[float], q: float) -> float:
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    done = [r for r in rounds if r]
    return {
        "p50_ms": round(statistics.median(pct(r, 0.5) for r in done) * 1e3, 2),
        "p99_ms": round(statistics.median(pct(r, 0.99) for r in done) * 1e3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=200, help="per subject, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer()
        return
    subjects: dict[str, Subject] = {
        "controlroom": controlroom_watcher,
        "watchdog_raw": watchdog_raw,
        "stat_poll_1ms": stat_poll_1ms,
    }
    per_round = max(1, args.changes // args.rounds)
    rounds: dict[str, list[list[float]]] = {name: [] for name in subjects}
    missed = 0
    child = Writer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for subject in subjects.values():  # warm up: imports, inotify, file cache
                one_round(subject, child, Path(tmp), 5)
            for _ in range(args.rounds):
                for name, subject in subjects.items():
                    latencies, lost = one_round(subject, child, Path(tmp), per_round)
                    rounds[name].append(latencies)
                    missed += lost if name == "controlroom" else 0
    finally:
        child.close()
    result = {
        **figures(rounds["controlroom"]),
        "changes": sum(len(r) for r in rounds["controlroom"]),
        "missed": missed,
        "watchdog_raw": figures(rounds["watchdog_raw"]),
        "stat_poll_1ms": figures(rounds["stat_poll_1ms"]),
        "rounds": args.rounds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
