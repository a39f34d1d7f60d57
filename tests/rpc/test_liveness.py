"""LivenessWatcher: pings what it is told to watch, reports every round, marks transitions."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

from controlroom.rpc import ControlServer, FunctionTable
from controlroom.rpc.liveness import NOT_FOUND, UNKNOWN_ENDPOINT, Liveness, LivenessWatcher


def test_transitions_are_marked_and_a_server_no_longer_found_is_down() -> None:
    server = ControlServer("alive", FunctionTable({}))
    server.start()
    watched = {"alive": server.endpoint, "nowhere": ""}
    rounds: queue.SimpleQueue[Mapping[str, Liveness]] = queue.SimpleQueue()
    watcher = LivenessWatcher(
        lambda: watched,
        rounds.put,
        name="test",
        every_s=60.0,  # rounds after the first are asked for by the test
        ping_timeout_s=0.5,
    )
    watcher.start()
    try:
        first = rounds.get(timeout=10.0)
        assert first["alive"] == Liveness(up=True, changed=True)
        assert first["nowhere"] == Liveness(False, UNKNOWN_ENDPOINT, changed=True)

        watcher.look()
        assert not any(liveness.changed for liveness in rounds.get(timeout=10.0).values())

        server.stop()
        watcher.look()
        down = rounds.get(timeout=10.0)["alive"]
        assert not down.up and down.changed and down.error

        del watched["nowhere"]
        watcher.look()
        assert rounds.get(timeout=10.0)["nowhere"] == Liveness(False, NOT_FOUND, changed=False)
        assert set(watcher.states()) == {"alive", "nowhere"}
        assert watcher.rounds == 4
    finally:
        watcher.stop()
        server.stop()
    assert not any(thread.name == "test-watch" for thread in threading.enumerate())
