"""Every command of every control server has the access class its effect calls for.

A viewer may look, an operator may also run a test (load a Setup, start an
observation, move, power, set), only an admin may change how the lab runs
or write what could pass for the lab's own data (processes, the registry,
stored housekeeping, new Setup versions).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

import controlroom.bridges
import controlroom.devices
import controlroom.services
from controlroom.bridges.nodes.bridge import NodeBridge
from controlroom.device import Interface
from controlroom.device.command import Command
from controlroom.device.interface import commands_of
from controlroom.device.serving import DeviceService
from controlroom.devices.camera.control import DpuController
from controlroom.devices.daq.driver import DaqController
from controlroom.devices.dummy.sensor import DummySensor
from controlroom.devices.hexapod.driver import HexapodController
from controlroom.devices.motion.driver import MotionController
from controlroom.devices.ogse.driver import OGSEController
from controlroom.devices.psu.driver import PsuController
from controlroom.devices.tempctl.driver import TempCtlController
from controlroom.rpc import ControlServer, Proxy, curve
from controlroom.rpc.access import ACCESS_CLASSES, READ
from controlroom.rpc.keyring import Keyring
from controlroom.services.confman.server import ConfigurationManager
from controlroom.services.logs.server import LogManager
from controlroom.services.procman.server import ProcessManager
from controlroom.services.registry.server import Registry
from controlroom.services.registry.store import RegistryStore
from controlroom.services.scenarios.service import Scenarios
from controlroom.services.scheduler.server import Scheduler
from controlroom.services.storage.server import StorageManager

CORE_SERVICES: tuple[type[Interface], ...] = (
    ConfigurationManager,
    LogManager,
    ProcessManager,
    Registry,
    Scenarios,
    Scheduler,
    StorageManager,
)
DEVICES: tuple[type[Interface], ...] = (
    DaqController,
    DpuController,
    DummySensor,
    HexapodController,
    MotionController,
    OGSEController,
    PsuController,
    TempCtlController,
    NodeBridge,
)
SERVED = CORE_SERVICES + DEVICES

EXPECTED = [
    (ConfigurationManager, "get_current_setup", "read"),
    (ConfigurationManager, "get_context", "read"),
    (ConfigurationManager, "list_setups", "read"),
    (ConfigurationManager, "diff_setups", "read"),
    (ConfigurationManager, "load_setup", "command"),
    (ConfigurationManager, "start_observation", "command"),
    (ConfigurationManager, "end_observation", "command"),
    (ConfigurationManager, "submit_setup", "admin"),
    (LogManager, "tail", "read"),
    (ProcessManager, "list_processes", "read"),
    (ProcessManager, "start", "admin"),
    (ProcessManager, "stop", "admin"),
    (ProcessManager, "restart", "admin"),
    (ProcessManager, "stop_all", "admin"),
    (ProcessManager, "reload_setup", "admin"),
    (Registry, "lookup", "read"),
    (Registry, "list_services", "read"),
    (Registry, "register", "admin"),
    (Registry, "heartbeat", "admin"),
    (Registry, "unregister", "admin"),
    (Scenarios, "rules", "read"),
    (Scenarios, "enable", "command"),
    (Scenarios, "disable", "command"),
    (Scheduler, "list_jobs", "read"),
    (Scheduler, "pause", "command"),
    (Scheduler, "resume", "command"),
    (StorageManager, "query_housekeeping", "read"),
    (StorageManager, "journal", "read"),
    (StorageManager, "store", "admin"),
    (StorageManager, "register", "admin"),
    (DummySensor, "read_value", "read"),
    (DummySensor, "set_offset", "command"),
    (MotionController, "position", "read"),
    (MotionController, "in_position", "read"),
    (MotionController, "homed", "read"),
    (MotionController, "wait_in_position", "read"),
    (MotionController, "move_absolute", "command"),
    (MotionController, "home", "command"),
    (HexapodController, "get_user_positions", "read"),
    (HexapodController, "check_absolute_movement", "read"),
    (HexapodController, "wait_in_position", "read"),
    (HexapodController, "move_absolute", "command"),
    (HexapodController, "homing", "command"),
    (HexapodController, "stop", "command"),
    (HexapodController, "set_user_limits", "command"),
    (OGSEController, "read_status", "read"),
    (OGSEController, "power_on", "command"),
    (PsuController, "measure_voltage", "read"),
    (PsuController, "errors", "read"),
    (PsuController, "set_output", "command"),
    (DaqController, "read", "command"),  # starts a scan: the readings of the last one go
    (DaqController, "scan", "command"),
    (TempCtlController, "ramp_to", "command"),
    (DpuController, "get_mode", "read"),
    (DpuController, "latest_image", "read"),
    (DpuController, "set_mode", "command"),
    (DpuController, "full_image", "command"),
    (DpuController, "set_num_cycles", "command"),
    (DpuController, "restart_processor", "admin"),
    (NodeBridge, "nodes", "read"),
    (NodeBridge, "send", "command"),
]

LOOKS_ONLY = re.compile(r"^(get_|list|lookup|is_)")


def _commands(served: type[Interface]) -> list[tuple[str, str]]:
    return [(name, spec.access) for name, spec in commands_of(served).items()]


def _declared_access(served: type[Interface], name: str) -> object:
    """The ``access=`` written on the decorator (None: left to the default)."""
    for klass in served.__mro__:
        found = vars(klass).get(name)
        if isinstance(found, Command):
            return found.options["access"]
    raise AssertionError(f"{served.__name__} has no command {name!r}")


def _interfaces_in(package: Any) -> Iterator[type[Interface]]:
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        for value in vars(importlib.import_module(module.name)).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Interface)
                and value.__module__ == module.name
                and commands_of(value)
            ):
                yield value


def test_the_tables_name_every_interface_a_server_serves() -> None:
    found = {
        cls
        for package in (controlroom.services, controlroom.devices, controlroom.bridges)
        for cls in _interfaces_in(package)
    }
    assert found == set(SERVED), "an interface with commands is missing from the tables here"


@pytest.mark.parametrize("served", SERVED, ids=lambda cls: cls.__name__)
def test_every_command_has_an_access_class(served: type[Interface]) -> None:
    commands = _commands(served)
    assert commands
    assert [(n, a) for n, a in commands if a not in ACCESS_CLASSES] == []


@pytest.mark.parametrize("served", CORE_SERVICES, ids=lambda cls: cls.__name__)
def test_a_core_service_declares_the_class_of_each_command(served: type[Interface]) -> None:
    undeclared = [name for name in commands_of(served) if _declared_access(served, name) is None]
    assert undeclared == [], f"{served.__name__}: give these commands access="


@pytest.mark.parametrize(
    ("served", "name", "access"),
    EXPECTED,
    ids=[f"{cls.__name__}.{name}" for cls, name, _ in EXPECTED],
)
def test_command_has_the_class_its_effect_calls_for(
    served: type[Interface], name: str, access: str
) -> None:
    assert commands_of(served)[name].access == access


@pytest.mark.parametrize("served", SERVED, ids=lambda cls: cls.__name__)
def test_a_command_named_for_looking_only_reads(served: type[Interface]) -> None:
    above_read = [n for n, a in _commands(served) if LOOKS_ONLY.match(n) and a != READ]
    assert above_read == [], f"{served.__name__}: named as looking only, yet not read"


# -- through a secured control server ---------------------------------------------------


@pytest.fixture
def lab_context(keys_folder: Path) -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    curve.secure(context, Keyring.load(keys_folder, "lab"))
    yield context
    curve.unsecure(context)
    context.destroy(linger=0)


@pytest.fixture
def serve(lab_context: zmq.Context[Any]) -> Iterator[Callable[[str, Interface], ControlServer]]:
    started: list[ControlServer] = []

    def start(name: str, interface: Interface) -> ControlServer:
        server = ControlServer(name, DeviceService(interface), context=lab_context)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _proxy(server: ControlServer, context: zmq.Context[Any]) -> Proxy:
    return Proxy(server.endpoint, name=server.name, context=context, timeout=2.0)


def test_a_viewer_reads_a_device_and_is_refused_a_setting(
    serve: Callable[[str, Interface], ControlServer],
    client_context: Callable[..., zmq.Context[Any]],
) -> None:
    server = serve("dummy", DummySensor())
    with _proxy(server, client_context("viewer")) as viewer:
        assert isinstance(viewer.call("read_value"), float)
        assert viewer.call("get_offset") == 0.0
        schema = {c["name"]: c["access"] for c in viewer.info()["commands"]}
        assert schema["read_value"] == "read" and schema["set_offset"] == "command"
        with pytest.raises(PermissionError, match=r"key viewer .* needs the operator role"):
            viewer.call("set_offset", 5.0)
    with _proxy(server, client_context("operator")) as operator:
        assert operator.call("get_offset") == 0.0  # the refused setting changed nothing
        operator.call("set_offset", 5.0)
        assert operator.call("get_offset") == 5.0


def test_only_an_admin_registers_a_server(
    serve: Callable[[str, Interface], ControlServer],
    client_context: Callable[..., zmq.Context[Any]],
) -> None:
    server = serve("registry", Registry(RegistryStore(60.0)))
    endpoints = {"commands": "tcp://127.0.0.1:1", "publish": "tcp://127.0.0.1:2"}
    with _proxy(server, client_context("operator")) as operator:
        with pytest.raises(PermissionError, match=r"key operator .* needs the admin role"):
            operator.call("register", "forged", endpoints)
        assert operator.call("lookup", "forged") is None
    with _proxy(server, client_context("admin")) as admin:
        assert admin.call("register", "psu", endpoints)["name"] == "psu"
    with _proxy(server, client_context("viewer")) as viewer:
        assert viewer.call("lookup", "psu")["endpoints"] == endpoints
        with pytest.raises(PermissionError, match="needs the admin role"):
            viewer.call("unregister", "psu")
