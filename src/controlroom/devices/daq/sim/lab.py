"""The simulated setup the DAQ's thermocouples and RTDs are glued to (pure, no I/O).

A thermal-vacuum chamber (LN2-cooled shroud, chamber wall, optical bench with
a camera and a hexapod), the OGSE lamp housing and an electronics rack outside,
and the small cryostat of the Lake Shore 336 simulator. The cryostat's masses
and couplings are taken from :class:`~controlroom.devices.tempctl.sim.physics.ThermalConfig`,
so both simulators describe the same hardware. They run in separate processes
and cannot share state: the DAQ integrates its own instance of the model, whose
cryostat heaters are off unless set here (the 336's control loops live in the
336 simulator). With heaters off the two agree on the cryostat temperatures.

At power-on the chamber has just started to cool: its masses start at room
temperature and fall towards the shroud over hours; the cryostat starts at
rest, as the 336 simulator does.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.devices.daq.sim.thermal import Network, Node
from controlroom.devices.tempctl.sim.physics import ThermalConfig

BATH, ROOM = "ln2_bath", "room"
CRYOSTAT_NODES = {
    "A": "sample_stage",
    "B": "detector_plate",
    "C": "radiation_shield",
    "D": "vacuum_flange",
}
CHAMBER_NODES: dict[str, Node] = {
    "shroud_top": Node(10_000.0, {BATH: 2.5}),
    "shroud_bottom": Node(10_000.0, {BATH: 2.5}),
    "chamber_wall": Node(60_000.0, {ROOM: 30.0}),
    "optical_bench": Node(6_000.0),
    "bench_edge": Node(6_000.0),
    "camera": Node(1_500.0),
    "hexapod": Node(3_000.0),
    "lamp_housing": Node(800.0, {ROOM: 1.0}),
    "rack": Node(20_000.0, {ROOM: 10.0}),
}
CHAMBER_LINKS = (
    ("shroud_top", "shroud_bottom", 2.0),
    ("shroud_top", "chamber_wall", 0.5),
    ("shroud_bottom", "chamber_wall", 0.5),
    ("optical_bench", "shroud_top", 0.4),  # radiative, linearised
    ("bench_edge", "shroud_bottom", 0.4),
    ("optical_bench", "bench_edge", 3.0),
    ("camera", "optical_bench", 1.0),
    ("hexapod", "bench_edge", 0.6),
    ("hexapod", "chamber_wall", 0.3),  # through the feet
)
WARM_AT_START = ("shroud_top", "shroud_bottom", "optical_bench", "bench_edge", "camera", "hexapod")


@dataclass(frozen=True)
class Sensor:
    """What is glued to a channel: the node it reads and the sensor kind wired there."""

    node: str
    transducer: str  # "TC" or "FRTD"
    tc_type: str = "K"


def _tc(node: str, tc_type: str = "K") -> Sensor:
    return Sensor(node, "TC", tc_type)


WIRING: dict[int, Sensor] = {
    101: _tc("optical_bench"),
    102: _tc("optical_bench"),
    103: _tc("bench_edge"),
    104: _tc("bench_edge"),
    105: _tc("camera", "T"),
    106: _tc("camera", "T"),
    107: _tc("hexapod"),
    108: _tc("hexapod"),
    109: _tc("shroud_top", "T"),
    110: _tc("shroud_top", "T"),
    111: _tc("shroud_bottom", "T"),
    112: _tc("shroud_bottom", "T"),
    113: _tc("chamber_wall"),
    114: _tc("chamber_wall"),
    115: _tc("lamp_housing"),
    116: _tc("rack"),
    117: _tc("sample_stage", "T"),
    118: _tc("detector_plate", "T"),
    119: _tc("radiation_shield", "T"),
    120: _tc("vacuum_flange"),
    201: Sensor("optical_bench", "FRTD"),
    202: Sensor("bench_edge", "FRTD"),
    203: Sensor("camera", "FRTD"),
    204: Sensor("hexapod", "FRTD"),
}
"""Channels 205-220 have nothing connected: configured, they read as an open sensor."""


def cryostat_network(config: ThermalConfig) -> tuple[dict[str, Node], list[tuple[str, str, float]]]:
    """The 336 simulator's cryostat as nodes and links of a :class:`Network`."""
    nodes = {
        CRYOSTAT_NODES[name]: Node(
            stage.heat_capacity,
            {BATH: stage.bath_conductance, ROOM: stage.ambient_conductance},
        )
        for name, stage in config.stages.items()
    }
    links = [(CRYOSTAT_NODES[a], CRYOSTAT_NODES[b], g) for a, b, g in config.links]
    return nodes, links


def lab_network(config: ThermalConfig | None = None) -> Network:
    """The whole simulated setup: chamber, lamp, rack and cryostat."""
    cryostat = config if config is not None else ThermalConfig()
    nodes, links = cryostat_network(cryostat)
    return Network(
        nodes={**CHAMBER_NODES, **nodes},
        boundaries={BATH: cryostat.bath_temperature, ROOM: cryostat.ambient_temperature},
        links=(*CHAMBER_LINKS, *links),
    )


def start_temperatures(network: Network) -> dict[str, float]:
    """The chamber masses start warm (the cool-down has just begun); the rest at rest."""
    return {name: network.boundaries[ROOM] for name in WARM_AT_START}
