"""A host's cable pulled for 20 s, then plugged back in: the lab notices, then heals by itself.

Host a runs the core services, host b the dummy's control server, host c is a
client and host d serves the web panel (HTTPS). The registry's TTL is short
(3 s), so it drops b's server well within the cut. The outage is played once
for the module (:func:`outage`): while the cable is out the clients on a and c
look at the registry, c calls the dummy and asks the panel about it; once it
is back they wait for b to register again, for its calls and light to come
back and for the housekeeping it made meanwhile to reach the storage manager.
Each test checks one of those observations, so one failure does not hide
the others. Nobody restarts anything by hand.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from multihost_clients import PANEL_DEVICES, PING_ALL
from multihost_helpers import (
    CLIENT,
    DEVICE,
    DEVICE_HOST,
    HK_NAME,
    HK_STORED_WITHIN_S,
    PANEL,
    PASSWORD,
    SERVER,
    USER,
    Facility,
    lab_settings,
    panel_settings,
)

from controlroom.rpc.child import module_argv
from controlroom.rpc.keyring import init_keys
from controlroom.rpc.process import parse_ready_line
from controlroom.testing.waiting import wait_until
from netns_fixtures import started_hosts

CUT_S = 20.0  # the outage the lab must ride through
TTL_S, HEARTBEAT_S = 3.0, 0.5
HK_PERIOD_S = 0.2
# Between two stored samples. The rows made during the cut travel together once it
# ends: a loss of them, or a sampler that waited for the unreachable storage manager,
# leaves a hole as long as the cut. Samples late on a busy host leave a period or a
# few, which is no loss: the sender's own counters account for single rows (dropped,
# refused), so this bound is a quarter of the cut, not a sampling-speed target.
MAX_GAP_S = CUT_S / 4
MARGIN_S = 2.0  # of stored housekeeping checked before the cut and after the link is back
RECOVER_WITHIN_S = 30.0
PANEL_READY_S = 45.0
PING_TIMEOUT_S = 5.0


@dataclass
class Outage:
    """What the clients saw while b's cable was out and after it was back."""

    cut_at: float = 0.0  # UTC seconds (the hosts share the machine's clock)
    restored_at: float = 0.0
    gone_within_cut: dict[str, bool] = field(default_factory=dict)  # registry, asked from a host
    listed_again_during_cut: bool = False
    call_during_cut: subprocess.CompletedProcess[str] | None = None
    ping_during_cut: list[str] = field(default_factory=list)  # [outcome, message]
    panel_down_during_cut: bool = False
    panel_up_during_cut: bool = False  # after it had shown it down
    panel_answers: list[str] = field(default_factory=list)  # what failed, for the messages
    registered_again: bool = False
    entry_before: dict[str, Any] = field(default_factory=dict)
    entry_after: dict[str, Any] = field(default_factory=dict)
    call_after: subprocess.CompletedProcess[str] | None = None
    panel_up_after: bool = False
    stored_times: list[float] = field(default_factory=list)
    sender_after: dict[str, Any] = field(default_factory=dict)  # the dummy's HK sender
    server_pid: int = 0
    server_running_after: bool = False


class Lab:
    """The facility with its panel, and the clients the outage is watched through."""

    def __init__(self, facility: Facility, panel_url: str, cafile: Path) -> None:
        self.facility, self.panel_url, self.cafile = facility, panel_url, cafile
        self.panel_answers: list[str] = []

    def listed(self, host: str) -> bool:
        """Whether the registry lists the dummy, asked from ``host``."""
        return DEVICE in self.facility.registered(host)

    def call(self) -> subprocess.CompletedProcess[str]:
        return self.facility.cli(CLIENT, "call", DEVICE, "read_value", "--json")

    def ping(self, endpoint: str) -> list[str]:
        """From c, as the lab key: ping the dummy at ``endpoint``; [outcome, message]."""
        keys = self.facility.settings["security"]["keys"]
        args = (json.dumps({DEVICE: endpoint}), keys, "lab", str(PING_TIMEOUT_S))
        done = self.facility.python(CLIENT, PING_ALL, *args)
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)[DEVICE])

    def panel_light(self) -> bool | None:
        """The dummy's light on the panel's Devices page (None: not shown, or no answer)."""
        args = (self.panel_url, str(self.cafile), USER, PASSWORD)
        done = self.facility.python(CLIENT, PANEL_DEVICES, *args, timeout=30.0)
        if done.returncode != 0:
            self.panel_answers.append(done.stderr.strip()[-500:])
            return None
        light = json.loads(done.stdout).get(DEVICE)
        return None if light is None else bool(light)

    def stored_times(self, since: float, until: float) -> list[float]:
        """UTC times of the dummy's stored samples in [since, until), asked from c."""
        done = self.facility.cli(
            CLIENT, "hk", "get", HK_NAME, "--since", repr(since), "--until", repr(until), "--json"
        )
        assert done.returncode == 0, done.stderr
        return sorted(float(t) for t in json.loads(done.stdout)["times"])


def start(facility: Facility) -> tuple[Lab, int]:
    """Core services on a, the dummy on b, the panel on d; the lab and the dummy's PID."""
    facility.settings["services"]["registry"].update(ttl_s=TTL_S, heartbeat_s=HEARTBEAT_S)
    facility.settings["devices"][DEVICE]["hk_period_s"] = HK_PERIOD_S
    cafile = panel_settings(facility)
    facility.up(SERVER)
    server = facility.device_server()
    panel = facility.hosts.run(
        PANEL,
        module_argv("controlroom.web", "--port", "0"),
        env=facility.env(PANEL),
        ready=parse_ready_line,
        ready_timeout=PANEL_READY_S,
    )
    return Lab(facility, str(panel.info["url"]), cafile), server.pid


def before_the_cut(lab: Lab, seen: Outage) -> None:
    """Wait until b's server is registered, shown up and its housekeeping stored."""
    assert wait_until(lambda: lab.listed(CLIENT), RECOVER_WITHIN_S), "the dummy never registered"
    seen.entry_before = lab.facility.registered(CLIENT)[DEVICE]
    assert wait_until(lambda: lab.panel_light() is True, RECOVER_WITHIN_S), lab.panel_answers
    stored = lambda: lab.stored_times(time.time() - 60, time.time() + 60)  # noqa: E731
    assert wait_until(stored, HK_STORED_WITHIN_S), "no housekeeping of the dummy stored"


def cut_for_a_while(lab: Lab, seen: Outage) -> None:
    """Pull b's cable for CUT_S; meanwhile watch the registry, a call and the panel."""
    hosts = lab.facility.hosts
    hosts.cut(DEVICE_HOST)
    seen.cut_at, start_s = time.time(), time.monotonic()

    def remaining() -> float:
        return CUT_S - (time.monotonic() - start_s)

    gone = wait_until(lambda: not lab.listed(CLIENT), remaining(), every_s=0.2)
    seen.gone_within_cut = {CLIENT: gone and remaining() > 0}
    seen.gone_within_cut[SERVER] = gone and not lab.listed(SERVER) and remaining() > 0
    if gone:
        seen.call_during_cut = lab.call()
    seen.ping_during_cut = lab.ping(seen.entry_before["endpoints"]["commands"])
    seen.panel_down_during_cut = wait_until(
        lambda: lab.panel_light() is False, max(0.0, remaining()), every_s=0.2
    )
    while remaining() > 0:  # the rest of the cut: nothing may show b's server up again
        seen.listed_again_during_cut |= lab.listed(CLIENT)
        seen.panel_up_during_cut |= seen.panel_down_during_cut and lab.panel_light() is True
    hosts.restore(DEVICE_HOST)
    seen.restored_at = time.time()


def after_the_cut(lab: Lab, seen: Outage) -> None:
    """Wait for b to come back by itself: registered, answering, shown up, HK delivered."""
    registered = lab.facility.registered
    seen.registered_again = wait_until(lambda: DEVICE in registered(CLIENT), RECOVER_WITHIN_S)
    if seen.registered_again:
        seen.entry_after = registered(CLIENT)[DEVICE]

    def answers() -> bool:
        seen.call_after = lab.call()
        return seen.call_after.returncode == 0

    wait_until(answers, RECOVER_WITHIN_S)
    seen.panel_up_after = wait_until(lambda: lab.panel_light() is True, RECOVER_WITHIN_S)
    since, until = seen.cut_at - MARGIN_S, seen.restored_at + MARGIN_S
    # The sender keeps the order of its rows: one made after `until` stored, all before are.
    wait_until(lambda: lab.stored_times(until, time.time() + 60), HK_STORED_WITHIN_S, every_s=0.5)
    seen.stored_times = lab.stored_times(since, until)
    info = lab.facility.cli(CLIENT, "call", DEVICE, "info", "--json")
    assert info.returncode == 0, info.stderr
    seen.sender_after = json.loads(info.stdout)["storage"]["hk"]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Outage:
    """The lab started, b's cable out for CUT_S and back, everything seen; the lab stopped."""
    folder = tmp_path_factory.mktemp("outage")
    keys = folder / "keys"
    init_keys(keys)
    seen = Outage()
    with started_hosts((SERVER, DEVICE_HOST, CLIENT, PANEL)) as hosts:
        facility = Facility(hosts, lab_settings(hosts, folder, keys=keys), folder)
        lab, seen.server_pid = start(facility)
        before_the_cut(lab, seen)
        cut_for_a_while(lab, seen)
        after_the_cut(lab, seen)
        seen.panel_answers = lab.panel_answers
        seen.server_running_after = any(
            p.pid == seen.server_pid and p.running() for p in hosts.processes
        )
    return seen


def test_the_registry_drops_the_cut_hosts_server_within_the_cut(outage: Outage) -> None:
    assert outage.gone_within_cut == {CLIENT: True, SERVER: True}
    assert not outage.listed_again_during_cut


def test_a_call_to_the_cut_hosts_device_fails_saying_it_is_down(outage: Outage) -> None:
    call = outage.call_during_cut
    assert call is not None, "the registry never dropped the dummy: no call was tried"
    assert call.returncode != 0, call.stdout
    message = call.stderr.strip()
    # "dummy (host b) is down: no heartbeat since ..." from a registry that remembers
    # lost servers, "dummy is not running: the registry does not know it..." otherwise.
    assert re.search(rf"\b{DEVICE}\b.* is (down|not running)\b", message), message
    assert "Traceback" not in message


def test_a_client_that_knew_the_endpoint_is_told_the_device_is_unreachable(
    outage: Outage,
) -> None:
    outcome, message = outage.ping_during_cut
    assert outcome == "ServerUnavailable", message
    assert "down or unreachable" in message, message


def test_the_panel_shows_the_cut_device_down_then_up(outage: Outage) -> None:
    assert outage.panel_down_during_cut, outage.panel_answers
    assert not outage.panel_up_during_cut
    assert outage.panel_up_after, outage.panel_answers


def test_housekeeping_made_during_the_cut_is_stored_after_it(outage: Outage) -> None:
    times = sorted(set(outage.stored_times))
    assert times, "nothing stored around the cut"
    during = [t for t in times if outage.cut_at <= t < outage.restored_at]
    assert len(during) > 0
    edges = [outage.cut_at - MARGIN_S, *times, outage.restored_at + MARGIN_S]
    gaps = [(after - before, before) for before, after in itertools.pairwise(edges)]
    widest = max(gaps)
    assert widest[0] <= MAX_GAP_S, (
        f"{widest[0]:.2f} s without a stored sample from {widest[1]:.2f} "
        f"(cut {outage.cut_at:.2f} to {outage.restored_at:.2f})"
    )
    sender = outage.sender_after
    assert (sender["dropped"], sender["refused"]) == (0, 0), sender
    assert sender["failures"] > 0, sender  # it did see the storage manager unreachable


def test_the_cut_host_registers_again_by_itself_and_answers(outage: Outage) -> None:
    assert outage.registered_again
    assert outage.entry_after["endpoints"] == outage.entry_before["endpoints"]
    assert outage.entry_after["metadata"]["pid"] == outage.server_pid  # the same process
    assert outage.server_running_after
    call = outage.call_after
    assert call is not None and call.returncode == 0, call and call.stderr
    assert isinstance(json.loads(call.stdout), float)
