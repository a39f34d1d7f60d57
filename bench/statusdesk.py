"""Watched status file in the web panel: milliseconds from writing the file to the hub.

Prints one JSON object::

    {"p50_ms", "p99_ms", "changes", "missed", "watcher": {"p50_ms", "p99_ms"}, "rounds"}

The top-level figures are the panel's :class:`~controlroom.web.statusdesk.StatusDesk`
(the watcher, the accept file read, the ``statusfile/main`` message) from just
before the write starts until the hub offers the new reading to its
subscribers, the WebSocket senders. ``watcher`` is the baseline measured in
the same rounds, alternating with it: the bare
:class:`~controlroom.bridges.StatusFileWatcher` callback, as in
``bench/statusfile.py`` (whose writer process and rounds this reuses). The
hop from the hub to a browser is ``bench/web_fanout.py``'s figure. Target:
p99 well within 100 ms.

    python bench/statusdesk.py [--changes 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from controlroom.web.hub import Hub, Message
from controlroom.web.statusdesk import TOPIC, StatusDesk
from statusfile import Subject, Writer, clock, controlroom_watcher, figures, one_round


class _Noticing:
    """A hub subscriber that notes when a changed reading (sequence > 1) is offered."""

    def __init__(self, noticed: Callable[[float], None]) -> None:
        self._noticed = noticed

    def offer(self, messages: Sequence[Message]) -> None:
        for message in messages:
            status = message.values.get("status") or {}
            if status.get("sequence", 0) > 1:
                self._noticed(clock())


@contextmanager
def panel_desk(path: Path, noticed: Callable[[float], None]) -> Iterator[object]:
    """The panel's status desk following ``path`` as a Setup would name it."""
    hub = Hub()
    sink = _Noticing(noticed)
    hub.attach(sink, [TOPIC])
    desk = StatusDesk({"locations": {"data": str(path.parent)}}, hub)
    desk.load({"web": {"status_file": path.name, "accept_file": "accept.txt"}})
    if desk.problem:
        raise RuntimeError(desk.problem)
    try:
        yield desk
    finally:
        desk.stop()
        hub.detach(sink)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=200, help="per subject, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    subjects: dict[str, Subject] = {"panel": panel_desk, "watcher": controlroom_watcher}
    per_round = max(1, args.changes // args.rounds)
    rounds: dict[str, list[list[float]]] = {name: [] for name in subjects}
    missed = 0
    writer = Writer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for subject in subjects.values():  # warm up: imports, inotify, file cache
                one_round(subject, writer, Path(tmp), 5)
            for _ in range(args.rounds):
                for name, subject in subjects.items():
                    latencies, lost = one_round(subject, writer, Path(tmp), per_round)
                    rounds[name].append(latencies)
                    missed += lost if name == "panel" else 0
    finally:
        writer.close()
    result = {
        **figures(rounds["panel"]),
        "changes": sum(len(r) for r in rounds["panel"]),
        "missed": missed,
        "watcher": figures(rounds["watcher"]),
        "rounds": args.rounds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
