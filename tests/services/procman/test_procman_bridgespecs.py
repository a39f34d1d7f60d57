"""The bridges a Setup names become processes built from the Settings only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.config.settings import Settings, load_settings
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.processspec import parse_json_ready
from controlroom.services.procman.specs import process_specs

PY = "/usr/bin/python3"


def settings_with(tmp_path: Path, **sections: Any) -> Settings:
    path = tmp_path / "local.yaml"
    sections.setdefault("web", {"enabled": False})
    path.write_text(yaml.safe_dump(sections))
    return load_settings(path)


def by_name(settings: Settings, setup: dict[str, Any]) -> dict[str, Any]:
    return {spec.name: spec for spec in process_specs(settings, setup, python=PY)}


def test_the_node_bridge_its_fleet_and_the_pipe_server(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, bridges={"nodes": {"port": 7811}})
    setup = {"bridges": {"nodes": {"fleet": {"nodes": 3, "rate": 5, "ctu": 1}}, "pipe": {}}}
    specs = by_name(settings, setup)
    nodes, fleet, pipe = specs["nodes"], specs["nodes-sim"], specs["pipe"]
    assert nodes.kind == "bridge" and nodes.ready == "server"
    assert nodes.argv == (PY, "-m", "controlroom.processes.bridge", "nodes")
    assert nodes.after == ("registry", "logman", "confman", "storage")
    assert fleet.kind == "simulator" and fleet.after == ("nodes",) and fleet.ready == "json"
    assert fleet.argv == (
        PY, "-m", "controlroom.bridges.nodes.fleet", "--bridge", "tcp://127.0.0.1:7811",
        "--nodes", "3", "--rate", "5.0", "--ctu", "1",
    )  # fmt: skip
    assert pipe.argv[-2:] == ("controlroom.processes.bridge", "pipe") and pipe.ready == "json"
    assert "mqtt" not in specs  # the Settings do not enable it


def test_the_mqtt_bridge_runs_only_when_the_settings_enable_it(tmp_path: Path) -> None:
    enabled = settings_with(tmp_path, bridges={"mqtt": {"enabled": True}})
    assert by_name(enabled, {"bridges": {"mqtt": {}}})["mqtt"].argv[-1] == "mqtt"


@pytest.mark.parametrize(
    ("bridges", "message"),
    [
        ({"ftp": {}}, "bridge 'ftp'; known: nodes, pipe, mqtt"),
        ({"nodes": {"fleet": {"nodes": "many"}}}, r"fleet.nodes must be a number"),
        ({"nodes": {"fleet": {"command": "rm"}}}, r"fleet.command in the Setup: known keys"),
        ({"nodes": {"flet": {}}}, r"bridges.nodes.flet in the Setup: only `fleet`"),
        (["nodes"], "must map bridge names"),
    ],
)
def test_a_bad_bridges_section_is_refused_by_name(
    tmp_path: Path, bridges: Any, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        process_specs(settings_with(tmp_path), {"bridges": bridges}, python=PY)


def test_json_ready_lines() -> None:
    line = 'READY {"name": "pipe", "url": "tcp://127.0.0.1:7900", "clients": 0}'
    assert parse_json_ready(line) == {"name": "pipe", "url": "tcp://127.0.0.1:7900"}
    assert parse_json_ready("READY {}") is None
    assert parse_json_ready("READY [1]") is None
    assert parse_json_ready("starting") is None


def test_the_demo_setup_runs_every_shipped_device_and_the_bridges() -> None:
    from importlib import resources

    text = resources.files("controlroom.config").joinpath("setups/demo.yaml").read_text()
    demo = yaml.safe_load(text)
    specs = by_name(load_settings(), demo)
    for device in ("tempctl", "ogse", "psu", "motion", "hexapod", "daq"):
        assert specs[device].simulated and specs[f"{device}-sim"].kind == "simulator"
    assert {"dummy", "nodes", "nodes-sim", "pipe"} <= set(specs)
