"""One process the process manager may run: its argv, what it waits for, what it needs first.

A :class:`ProcessSpec` is plain data built by :mod:`.specs` from the Settings
and the Setup; nothing in it ever comes from the network. Two things are
filled in at run time, both from the ready lines of our own children:

* *pins*: an endpoint the Settings leave on port 0 is bound by the OS when the
  process first starts; :meth:`ProcessSpec.pinned` puts that port into the argv,
  so a restarted process comes back on the same address and proxies made
  before the crash carry on;
* a *link*: a control server of a simulated device whose simulator listens on
  a port chosen at run time gets ``--transport tcp://host:port`` from the
  simulator's ready line (:meth:`ProcessSpec.argv_for`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from controlroom.device.simkit.server import parse_ready_line
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.process import READY_PREFIX
from controlroom.services.procman.errors import SpecError

Kind = Literal["service", "device", "simulator", "web", "bridge"]
ReadyKind = Literal["server", "simulator", "web", "json"]
ReadyInfo = dict[str, str]

WILDCARD_HOSTS = frozenset({"0.0.0.0", "*", "::", "[::]"})  # noqa: S104 (we detect, not bind)


@dataclass(frozen=True)
class Pin:
    """Option ``option`` gets ``prefix`` + the port of ready-line entry ``role``."""

    role: str
    option: str
    prefix: str = ""


@dataclass(frozen=True)
class Link:
    """Option ``option`` gets entry ``role`` of process ``source``'s ready line."""

    source: str
    role: str
    option: str


@dataclass(frozen=True)
class ProcessSpec:
    """What to run (argv), where (host), after what (after, remote_after), and how it
    says it is ready."""

    name: str
    kind: Kind
    argv: tuple[str, ...]
    host: str = "localhost"
    after: tuple[str, ...] = ()
    ready: ReadyKind = "server"
    pins: tuple[Pin, ...] = ()
    link: Link | None = field(default=None)
    simulated: bool = False
    # Those of ``after`` that run on other hosts: waited for until they answer, not started.
    remote_after: tuple[str, ...] = ()

    def parse_ready(self, line: str) -> ReadyInfo | None:
        """The endpoints announced by ``line``, or None if it is not the ready line."""
        if self.ready == "simulator":
            return parse_simulator_ready(line)
        if self.ready == "web":
            return parse_web_ready(line)
        if self.ready == "json":
            return parse_json_ready(line)
        return parse_server_ready(line)

    def pinned(self, info: Mapping[str, str]) -> ProcessSpec:
        """This spec with the ports of ``info`` fixed in its argv (pins used up)."""
        argv = list(self.argv)
        for pin in self.pins:
            address = info.get(pin.role, "")
            port = address.rpartition(":")[2]
            if port.isdigit() and port != "0":
                argv = set_option(argv, pin.option, pin.prefix + port)
        return replace(self, argv=tuple(argv), pins=())

    def argv_for(self, ready: Mapping[str, Mapping[str, str]]) -> list[str]:
        """The argv to run now; ``ready`` maps process names to their ready-line info."""
        if self.link is None:
            return list(self.argv)
        value = (ready.get(self.link.source) or {}).get(self.link.role)
        if not value:
            raise SpecError(
                f"{self.name} needs {self.link.source} to be running first "
                f"(its {self.link.role} is not known yet)"
            )
        return set_option(list(self.argv), self.link.option, value)


def setup_section(setup: Mapping[str, Any] | None, key: str, entries: str) -> Mapping[str, Any]:
    """The Setup's ``key`` section (empty when it has none), which maps names to ``entries``."""
    section = (setup or {}).get(key)
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise SpecError(f"the Setup's `{key}` must map {entries} names to their entries")
    return section


def set_option(argv: Sequence[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option value`` replaced if present, else appended."""
    result = list(argv)
    if option in result:
        index = result.index(option)
        if index + 1 < len(result):
            result[index + 1] = value
            return result
    return [*result, option, value]


def _ready_json(line: str) -> dict[str, Any] | None:
    """The JSON object of a ``READY {...}`` line; None for any other line."""
    if not line.startswith(READY_PREFIX):
        return None
    try:
        data = json.loads(line[len(READY_PREFIX) :])
    except ValueError:  # a READY line with broken JSON is not the one we wait for
        return None
    return data if isinstance(data, dict) else None


def parse_server_ready(line: str) -> ReadyInfo | None:
    """``READY {"name", "commands", "publish", ...}`` -> its string entries."""
    data = _ready_json(line)
    return _text_entries(data) if data and data.get("commands") else None


def parse_json_ready(line: str) -> ReadyInfo | None:
    """``READY {...}`` with any entries (a bridge's) -> its string entries; None otherwise."""
    data = _ready_json(line)
    return _text_entries(data) if data else None


def parse_web_ready(line: str) -> ReadyInfo | None:
    """``READY {"name": "web", "url": "http://host:port/"}`` -> {url, http: tcp://host:port}."""
    url = (_ready_json(line) or {}).get("url")
    if not isinstance(url, str) or "://" not in url:
        return None
    address = url.split("://", 1)[1].split("/", 1)[0]
    return {"url": url, "http": f"tcp://{address}"}


def _text_entries(data: dict[str, Any]) -> ReadyInfo:
    return {str(key): str(value) for key, value in data.items() if isinstance(value, str)}


def parse_simulator_ready(line: str) -> ReadyInfo | None:
    """``READY <host> <port>`` -> {host, port, transport}; None for any other line."""
    found = parse_ready_line(line)
    if found is None:
        return None
    listening, port = found
    host = "127.0.0.1" if listening in WILDCARD_HOSTS else listening
    transport = connectable(f"tcp://{host}:{port}")
    return {"host": listening, "port": str(port), "transport": transport}


def waves(specs: Sequence[ProcessSpec]) -> list[list[ProcessSpec]]:
    """``specs`` in start order: each wave only needs processes of earlier waves.

    A dependency that is not among ``specs`` (another host's, or not in the
    Setup) is ignored; a cycle is an error.
    """
    names = {spec.name for spec in specs}
    done: set[str] = set()
    left = list(specs)
    order: list[list[ProcessSpec]] = []
    while left:
        wave = [s for s in left if all(d in done or d not in names for d in s.after)]
        if not wave:
            raise SpecError(f"circular dependencies among {sorted(s.name for s in left)}")
        order.append(wave)
        done.update(s.name for s in wave)
        left = [s for s in left if s.name not in done]
    return order
