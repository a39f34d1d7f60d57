"""Process specs derived from the Settings and the Setup, without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.config.settings import Settings, load_settings
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.hosts import local_specs
from controlroom.services.procman.processspec import (
    Link,
    Pin,
    parse_server_ready,
    parse_simulator_ready,
    set_option,
    waves,
)
from controlroom.services.procman.specs import process_specs

PY = "/opt/python"
HERE = ["localhost", "127.0.0.1", "bench-1"]  # this machine's names, for the tests


def settings_with(tmp_path: Path, **sections: Any) -> Settings:
    path = tmp_path / "local.yaml"
    sections.setdefault("web", {"enabled": False})  # test_the_web_panel turns it on
    path.write_text(yaml.safe_dump(sections))
    return load_settings(path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_with(tmp_path, hosts={"default": "127.0.0.1", "bench": "10.1.2.3"})


def by_name(settings: Settings, setup: dict[str, Any] | None) -> dict[str, Any]:
    return {spec.name: spec for spec in process_specs(settings, setup, python=PY)}


def test_without_a_setup_only_the_core_services(settings: Settings) -> None:
    specs = process_specs(settings, None, python=PY)
    names = [s.name for s in specs]
    assert names == ["registry", "logman", "confman", "storage", "scheduler", "scenarios"]
    registry, logman, scheduler, scenarios = specs[0], specs[1], specs[-2], specs[-1]
    assert registry.argv == (PY, "-m", "controlroom.processes.service", "registry")
    assert registry.kind == "service" and registry.after == () and registry.pins == ()
    assert logman.argv[-2:] == ("controlroom.processes.service", "logman")
    assert logman.after == ()  # registering and logging never wait: the services start together
    # The composition root joins the scheduler with the observations.
    assert scheduler.argv == (PY, "-m", "controlroom.processes.service", "scheduler")
    assert scheduler.after == ("confman",)
    assert scenarios.argv == (PY, "-m", "controlroom.processes.service", "scenarios")
    assert scenarios.after == ("confman",)


def test_a_simulated_device_brings_its_simulator(settings: Settings) -> None:
    specs = by_name(settings, {"devices": {"tempctl": {"simulated": True}, "dummy": None}})
    sim, server, dummy = specs["tempctl-sim"], specs["tempctl"], specs["dummy"]
    assert sim.kind == "simulator" and sim.ready == "simulator"
    assert sim.argv == (
        PY, "-m", "controlroom.devices.tempctl.sim.server", "--host", "127.0.0.1", "--port", "7777"
    )  # fmt: skip
    assert server.kind == "device" and server.simulated
    assert server.argv == (
        PY, "-m", "controlroom.processes.device", "tempctl", "--sim",
        "--transport", "tcp://127.0.0.1:7777",
    )  # fmt: skip
    assert server.after == ("registry", "logman", "confman", "storage", "tempctl-sim")
    assert dummy.argv[-3:] == ("-m", "controlroom.processes.device", "dummy")
    assert not dummy.simulated
    assert "tempctl-sim" not in by_name(settings, {"devices": {"tempctl": {}}})


def test_ports_left_at_zero_are_pinned_and_the_simulator_linked(tmp_path: Path) -> None:
    any_port = "tcp://127.0.0.1:0"
    settings = settings_with(
        tmp_path,
        devices={
            "tempctl": {
                "commands": any_port,
                "publish": "tcp://127.0.0.1:6701",
                "simulator": {"port": 0},
            }
        },
    )
    specs = by_name(settings, {"devices": {"tempctl": {"simulated": True}}})
    assert specs["tempctl"].pins == (Pin("commands", "--endpoint", "tcp://127.0.0.1:"),)
    assert specs["tempctl"].link == Link("tempctl-sim", "transport", "--transport")
    assert "--transport" not in specs["tempctl"].argv
    assert specs["tempctl-sim"].pins == (Pin("transport", "--port"),)
    pinned = specs["tempctl"].pinned({"commands": "tcp://127.0.0.1:41234"})
    assert pinned.argv[-2:] == ("--endpoint", "tcp://127.0.0.1:41234") and pinned.pins == ()
    ready = {"tempctl-sim": {"transport": "tcp://127.0.0.1:40000"}}
    assert specs["tempctl"].argv_for(ready)[-2:] == ["--transport", "tcp://127.0.0.1:40000"]
    with pytest.raises(SpecError, match="tempctl needs tempctl-sim to be running first"):
        specs["tempctl"].argv_for({})


def test_a_device_unknown_to_the_settings_is_refused(settings: Settings) -> None:
    with pytest.raises(SpecError, match=r"'cryostat', not in the Settings \(known: .*tempctl"):
        process_specs(settings, {"devices": {"cryostat": {"simulated": True}}})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"simulate": True}, "devices.tempctl.simulate in the Setup: did you mean 'simulated'"),
        ({"simulated": "yes"}, "simulated in the Setup must be true or false"),
        ({"host": ""}, "host in the Setup must be a host name"),
        ("tempctl", "must be a mapping"),
    ],
)
def test_malformed_setup_entries_are_refused(settings: Settings, entry: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        process_specs(settings, {"devices": {"tempctl": entry}})


def test_other_keys_of_a_setup_entry_are_left_alone(settings: Settings) -> None:
    setup = {"devices": {"dummy": {"calibration": {"a": 1.0}}}, "other": [1, 2]}
    assert "dummy" in by_name(settings, setup)


def test_only_processes_of_this_host_run_here(settings: Settings) -> None:
    setup = {
        "devices": {
            "tempctl": {"simulated": True, "host": "lab-pc-9"},
            "dummy": {"host": "bench-1"},
        }
    }
    specs = process_specs(settings, setup, python=PY)
    assert {s.name: s.host for s in specs}["tempctl-sim"] == "lab-pc-9"
    local = [s.name for s in local_specs(specs, settings, HERE)]
    assert local == ["registry", "logman", "confman", "storage", "scheduler", "scenarios", "dummy"]
    # A key of the Settings' `hosts` stands for its address.
    elsewhere = process_specs(settings, {"devices": {"dummy": {"host": "bench"}}})
    assert [s.name for s in local_specs(elsewhere, settings, HERE)][-1] == "scenarios"
    assert [s.name for s in local_specs(elsewhere, settings, [*HERE, "10.1.2.3"])][-1] == "dummy"


def test_a_core_service_runs_on_the_host_of_its_endpoint(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, services={"registry": {"commands": "tcp://10.9.9.9:6030"}})
    assert [s.name for s in local_specs(process_specs(settings), settings, HERE)] == [
        "logman",
        "confman",
        "storage",
        "scheduler",
        "scenarios",
    ]


def test_a_simulator_outside_the_allowed_packages_is_refused(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, devices={"tempctl": {"simulator": {"module": "os.system"}}})
    with pytest.raises(SpecError, match=r"'os\.system' of tempctl is not in controlroom\.devices"):
        process_specs(settings, {"devices": {"tempctl": {"simulated": True}}})


def test_ready_lines() -> None:
    line = 'READY {"name": "x", "commands": "tcp://127.0.0.1:5", "publish": "tcp://h:6"}'
    assert parse_server_ready(line) == {
        "name": "x",
        "commands": "tcp://127.0.0.1:5",
        "publish": "tcp://h:6",
    }
    assert parse_server_ready("READY {broken") is None
    assert parse_server_ready("INFO starting") is None
    assert parse_simulator_ready("READY 0.0.0.0 7777") == {
        "host": "0.0.0.0",
        "port": "7777",
        "transport": "tcp://127.0.0.1:7777",
    }
    assert parse_simulator_ready("READY localhost port") is None


def test_waves_and_options(settings: Settings) -> None:
    specs = process_specs(settings, {"devices": {"tempctl": {"simulated": True}}})
    order = [[s.name for s in wave] for wave in waves(specs)]
    assert order == [
        ["registry", "logman", "confman", "storage", "tempctl-sim"],
        ["scheduler", "scenarios", "tempctl"],
    ]
    looped = [s for s in specs if s.name == "registry"]
    looped = [looped[0].__class__(**{**looped[0].__dict__, "after": ("registry",)})]
    with pytest.raises(SpecError, match="circular"):
        waves(looped)
    assert set_option(["a", "--port", "0"], "--port", "5") == ["a", "--port", "5"]
    assert set_option(["a"], "--port", "5") == ["a", "--port", "5"]


def test_the_web_panel_runs_after_the_core_services_on_its_port(tmp_path: Path) -> None:
    fixed = settings_with(tmp_path, web={"port": 8123, "host": "127.0.0.1"})
    web = by_name(fixed, None)["web"]
    assert web.kind == "web" and web.ready == "web" and web.pins == ()
    assert web.argv == (PY, "-m", "controlroom.web", "--port", "8123")
    assert web.after == ()  # it finds the servers as they come
    chosen = by_name(settings_with(tmp_path, web={"port": 0}), None)["web"]
    line = 'READY {"name": "web", "url": "http://127.0.0.1:40001/"}'
    info = chosen.parse_ready(line)
    assert info == {"url": "http://127.0.0.1:40001/", "http": "tcp://127.0.0.1:40001"}
    assert chosen.pinned(info).argv[-2:] == ("--port", "40001")  # a restart keeps the URL
    assert chosen.parse_ready('READY {"name": "web"}') is None
    assert "web" not in by_name(settings_with(tmp_path, web={"enabled": False}), None)
