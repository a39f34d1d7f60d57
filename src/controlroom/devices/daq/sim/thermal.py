"""A lumped thermal network, integrated exactly (pure, no I/O).

Nodes have heat capacities; links between nodes and to fixed-temperature
boundaries (a cold bath, the room) have conductances; heaters put power into
nodes. Between two changes of heater power the network is a linear system
``C dT/dt = -L T + q``, so it is advanced in closed form through the
eigen-decomposition of the symmetric matrix ``C^-1/2 L C^-1/2``: any time step
is exact and stable, a week of simulated time costs the same as a second, and
the result depends only on the total time advanced, not on how it was cut.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Node:
    """One lumped mass: its heat capacity and its conductances to the boundaries."""

    heat_capacity: float  # J/K
    to_boundary: Mapping[str, float] = field(default_factory=dict)  # boundary name -> W/K


@dataclass(frozen=True)
class Network:
    """Masses, the fixed temperatures around them, and the links between masses."""

    nodes: Mapping[str, Node]
    boundaries: Mapping[str, float]  # name -> kelvin
    links: tuple[tuple[str, str, float], ...] = ()  # (node, node, W/K)

    def __post_init__(self) -> None:
        for name, node in self.nodes.items():
            if not node.heat_capacity > 0:
                raise ValueError(f"node {name!r} needs a positive heat capacity")
            unknown = set(node.to_boundary) - set(self.boundaries)
            if unknown:
                raise ValueError(f"node {name!r} links to unknown boundaries {sorted(unknown)}")
        for a, b, conductance in self.links:
            if a not in self.nodes or b not in self.nodes or a == b:
                raise ValueError(f"link {a!r}-{b!r} must join two different nodes")
            if conductance < 0:
                raise ValueError(f"link {a!r}-{b!r} has a negative conductance")


class ThermalNetwork:
    """The temperatures of a :class:`Network` over time, with settable heater powers."""

    def __init__(
        self, network: Network, *, temperatures: Mapping[str, float] | None = None
    ) -> None:
        self.network = network
        self.names = tuple(network.nodes)
        self._index = {name: i for i, name in enumerate(self.names)}
        self._capacity = np.array([network.nodes[n].heat_capacity for n in self.names])
        self._boundary_g = np.array(
            [math.fsum(network.nodes[n].to_boundary.values()) for n in self.names]
        )
        self._boundary_q = np.array([_boundary_flow(network, n) for n in self.names])
        self._power = np.zeros(len(self.names))
        root = np.sqrt(self._capacity)
        symmetric = _laplacian(network, self._index, self._boundary_g) / np.outer(root, root)
        self._rates, self._modes = np.linalg.eigh(symmetric)
        if self._rates.min() <= 0:
            raise ValueError("every node must be linked, directly or not, to a boundary")
        self._root = root
        unknown = set(temperatures or {}) - set(self.names)
        if unknown:
            raise ValueError(f"no nodes {sorted(unknown)}")
        start = self.steady_state() | dict(temperatures or {})
        self._temps = np.array([float(start[n]) for n in self.names])
        self.elapsed = 0.0
        self.heat_in = 0.0
        """Joules that entered the network from heaters and boundaries since the start."""

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass with the heater powers in force."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"cannot advance by {seconds!r} s")
        if seconds == 0:
            return
        flow = self._power + self._boundary_q
        y_eq = self._root * self._equilibrium(flow)
        offset = self._modes.T @ (self._root * self._temps - y_eq)
        decay = np.exp(-self._rates * seconds)
        y_new = y_eq + self._modes @ (decay * offset)
        # The time integral of T gives the heat that crossed the boundaries, exactly.
        spent = -np.expm1(-self._rates * seconds) / self._rates
        t_integral = (y_eq * seconds + self._modes @ (spent * offset)) / self._root
        self.heat_in += float(flow.sum() * seconds - self._boundary_g @ t_integral)
        self._temps = y_new / self._root
        self.elapsed += seconds

    def temperature(self, name: str) -> float:
        """The temperature of node ``name`` now, in kelvin."""
        return float(self._temps[self._node(name)])

    def temperatures(self) -> dict[str, float]:
        return {name: float(t) for name, t in zip(self.names, self._temps, strict=True)}

    def set_heater(self, name: str, watts: float) -> None:
        """Power dissipated in node ``name`` from now on (0 switches it off)."""
        if not math.isfinite(watts) or watts < 0:
            raise ValueError(f"heater power must be a finite number >= 0, not {watts!r}")
        self._power[self._node(name)] = watts

    def heater(self, name: str) -> float:
        return float(self._power[self._node(name)])

    def stored_energy(self) -> float:
        """Sum of C*T over the nodes, in joules (its change is the heat that came in)."""
        return float(self._capacity @ self._temps)

    def steady_state(self) -> dict[str, float]:
        """Where the temperatures go with the heater powers in force, after a long wait."""
        temps = self._equilibrium(self._power + self._boundary_q)
        return {name: float(t) for name, t in zip(self.names, temps, strict=True)}

    def time_constants(self) -> list[float]:
        """The network's relaxation times in seconds, slowest first."""
        return sorted((float(1.0 / rate) for rate in self._rates), reverse=True)

    def _equilibrium(self, flow: np.ndarray) -> np.ndarray:
        # Solve L T = q through the modes: T = C^-1/2 Q diag(1/rate) Q^T C^-1/2 q.
        projected = self._modes.T @ (flow / self._root)
        temperatures: np.ndarray = (self._modes @ (projected / self._rates)) / self._root
        return temperatures

    def _node(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"no node {name!r}; the nodes are {', '.join(self.names)}") from None


def _boundary_flow(network: Network, name: str) -> float:
    links = network.nodes[name].to_boundary
    return math.fsum(g * network.boundaries[b] for b, g in links.items())


def _laplacian(network: Network, index: Mapping[str, int], boundary_g: np.ndarray) -> np.ndarray:
    matrix = np.diag(boundary_g.astype(float))
    for a, b, conductance in network.links:
        i, j = index[a], index[b]
        matrix[i, i] += conductance
        matrix[j, j] += conductance
        matrix[i, j] -= conductance
        matrix[j, i] -= conductance
    return matrix
