"""The tasks of the demo Setup: a few buttons for the simulated temperature controller and sensor.

Two groups: *Thermal* (the ``tempctl`` control server: hold a temperature,
step through setpoints, a warm-up building block run as an observation) and
*Checks* (every known server pinged, the ``dummy`` sensor read and recorded).
They reach the servers by name (:func:`~controlroom.obs.taskservers.server_proxy`),
so they know nothing of the drivers: enums and ranges here mirror the
instrument's, and the control server checks every argument again.
"""

from __future__ import annotations

import csv
import enum
import statistics
import time
from pathlib import Path

from controlroom.obs.building_block import building_block
from controlroom.obs.task import task
from controlroom.obs.taskservers import server_proxy, servers
from controlroom.rpc import Proxy, RpcError

TEMPCTL, DUMMY = "tempctl", "dummy"
INPUT_OF_OUTPUT = {1: "A", 2: "B"}  # the sensor each heater output controls in the demo


class HeaterRange(enum.Enum):
    """The heater ranges of the Lake Shore 336 (sent by name; the server checks them)."""

    OFF = "OFF"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Statistic(enum.Enum):
    """How a series of readings is summed up."""

    LAST = "last"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


# -- Thermal ------------------------------------------------------------------------


@task(display_name="Set temperature", group="Thermal", devices=(TEMPCTL,))
def set_temperature(
    *,
    kelvin: float = 300.0,
    output: int = 1,
    heater_range: HeaterRange = HeaterRange.MEDIUM,
    tolerance_k: float = 0.5,
    stable_s: float = 30.0,
    timeout_s: float = 1800.0,
) -> float:
    """Control an output to a setpoint and wait until the temperature is stable.

    Stable: within ``tolerance_k`` of the setpoint for ``stable_s`` seconds.
    Returns the last temperature read.
    """
    with server_proxy(TEMPCTL) as tempctl:
        _control(tempctl, output, heater_range)
        return _settle(
            tempctl,
            output=output,
            kelvin=kelvin,
            tolerance_k=tolerance_k,
            stable_s=stable_s,
            timeout_s=timeout_s,
        )


@task(display_name="Setpoint steps", group="Thermal", devices=(TEMPCTL,))
def step_setpoints(
    *,
    setpoints: list[float],
    output: int = 1,
    heater_range: HeaterRange = HeaterRange.MEDIUM,
    dwell_s: float = 60.0,
    tolerance_k: float = 0.5,
    timeout_s: float = 1800.0,
) -> list[float]:
    """Go through a list of setpoints: settle at each, stay ``dwell_s`` seconds, move on.

    Returns the temperature reached at each step.
    """
    if not setpoints:
        raise ValueError("setpoints: give at least one temperature")
    reached = []
    with server_proxy(TEMPCTL) as tempctl:
        _control(tempctl, output, heater_range)
        for number, kelvin in enumerate(setpoints, 1):
            print(f"step {number}/{len(setpoints)}: {kelvin:.2f} K")
            reached.append(
                _settle(
                    tempctl,
                    output=output,
                    kelvin=kelvin,
                    tolerance_k=tolerance_k,
                    stable_s=dwell_s,
                    timeout_s=timeout_s,
                )
            )
    return reached


@task(display_name="Warm up (observation)", group="Thermal", devices=(TEMPCTL,))
@building_block
def warm_up(*, output: int, target: float, rate: float) -> None:
    """Ramp an output's setpoint to a temperature at a rate in K/min, as one observation."""
    with server_proxy(TEMPCTL) as tempctl:
        _control(tempctl, output, HeaterRange.MEDIUM)
        tempctl.call("ramp_to", output, target, rate)
    print(f"output {output} ramping to {target:.2f} K at {rate} K/min")


def _control(tempctl: Proxy, output: int, heater_range: HeaterRange) -> None:
    sensor = INPUT_OF_OUTPUT.get(output)
    if sensor is None:
        raise ValueError(f"output must be one of {sorted(INPUT_OF_OUTPUT)}, not {output}")
    tempctl.call("set_output_mode", output, "CLOSED_LOOP", sensor)
    tempctl.call("set_heater_range", output, heater_range.value)


def _settle(
    tempctl: Proxy,
    *,
    output: int,
    kelvin: float,
    tolerance_k: float,
    stable_s: float,
    timeout_s: float,
) -> float:
    sensor = INPUT_OF_OUTPUT[output]
    tempctl.call("set_setpoint", output, kelvin)
    print(f"output {output}: setpoint {kelvin:.2f} K, waiting for input {sensor} to settle")
    started = time.monotonic()
    inside_since: float | None = None
    every_s = min(1.0, max(0.05, stable_s / 10))
    while True:
        now = time.monotonic()
        temperature = float(tempctl.call("temperature", sensor))
        if abs(temperature - kelvin) > tolerance_k:
            inside_since = None
        elif inside_since is None:
            inside_since = now
        if inside_since is not None and now - inside_since >= stable_s:
            print(f"stable at {temperature:.3f} K")
            return temperature
        if now - started > timeout_s:
            raise TimeoutError(
                f"input {sensor} at {temperature:.3f} K is not stable within {tolerance_k} K "
                f"of {kelvin} K after {timeout_s} s"
            )
        print(f"  {temperature:.3f} K")
        time.sleep(every_s)  # the pace of the readings, not a readiness wait


# -- Checks -------------------------------------------------------------------------


@task(display_name="Ping every server", group="Checks", immediate=True)
def ping_servers(timeout_s: float = 1.0) -> dict[str, float | None]:
    """Ping every server the registry or the Settings know; round trips in ms (None: down)."""
    directory = servers()
    answers: dict[str, float | None] = {}
    for name in directory.names():
        started = time.perf_counter()
        try:
            with directory.proxy(name, timeout=timeout_s) as proxy:
                proxy.ping()
            answers[name] = round((time.perf_counter() - started) * 1000, 2)
            print(f"{name:<20} up    {answers[name]:8.2f} ms")
        except RpcError as exc:
            answers[name] = None
            print(f"{name:<20} DOWN  {exc}")
    return answers


@task(display_name="Read the dummy", group="Checks", devices=(DUMMY,))
def read_dummy(
    samples: int = 5, statistic: Statistic = Statistic.MEAN, with_offset: bool = True
) -> float:
    """Read the dummy sensor ``samples`` times and sum the readings up.

    Without ``with_offset`` the calibration offset is taken off again.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, not {samples}")
    with server_proxy(DUMMY) as dummy:
        readings = [float(dummy.call("read_value")) for _ in range(samples)]
        offset = 0.0 if with_offset else float(dummy.call("get_offset"))
    for number, value in enumerate(readings, 1):
        print(f"reading {number}: {value:.4f} °C")
    summed = {
        Statistic.LAST: readings[-1],
        Statistic.MEAN: statistics.fmean(readings),
        Statistic.MIN: min(readings),
        Statistic.MAX: max(readings),
    }[statistic]
    print(f"{statistic.value}: {summed - offset:.4f} °C")
    return summed - offset


@task(display_name="Record the dummy to CSV", group="Checks", devices=(DUMMY,))
def record_dummy(path: Path, samples: int = 10, interval_s: float = 0.5) -> str:
    """Write ``samples`` readings of the dummy sensor, ``interval_s`` apart, to a CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with server_proxy(DUMMY) as dummy, path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["time", "value_degC"])
        for number in range(samples):
            if number:
                time.sleep(interval_s)  # the sampling interval the operator asked for
            writer.writerow([f"{time.time():.3f}", f"{float(dummy.call('read_value')):.6f}"])
    print(f"{samples} readings written to {path}")
    return str(path)


@task(display_name="Calibrate the dummy (observation)", group="Checks", devices=(DUMMY,))
@building_block
def calibrate_dummy(*, offset: float) -> float:
    """Set the dummy's calibration offset, as one observation; returns the reading after."""
    with server_proxy(DUMMY) as dummy:
        dummy.call("set_offset", offset)
        value = float(dummy.call("read_value"))
    print(f"offset {offset:+.3f}: reading {value:.4f} °C")
    return value
