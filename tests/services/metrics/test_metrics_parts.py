"""The pieces without HTTP: value conversion, the HK and command collectors, addresses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from controlroom.config.settings import SettingsError, load_settings
from controlroom.rpc.hooks import CommandRecord, HkSample
from controlroom.services.metrics import metrics_address
from controlroom.services.metrics.commands import CommandMetrics
from controlroom.services.metrics.housekeeping import HousekeepingMetrics, as_number
from controlroom.wire import ErrorInfo


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (2.5, 2.5), (True, 1.0), (False, 0.0), (np.float32(0.5), 0.5), (np.int64(7), 7.0)],
)
def test_numbers_and_flags_become_floats(raw: object, expected: float) -> None:
    assert as_number(raw) == expected


@pytest.mark.parametrize("raw", ["ON", None, [1.0, 2.0], {"a": 1}, b"\x00"])
def test_text_arrays_and_none_are_not_exported(raw: object) -> None:
    assert as_number(raw) is None


def test_the_collector_exports_the_latest_numeric_values_only() -> None:
    units = {"T_STAGE": "K"}
    metrics = HousekeepingMetrics("tempctl", units)
    metrics(HkSample("tempctl", 1000.0, {"T_STAGE": 80.0, "OLD": 1.0}))
    metrics(HkSample("tempctl", 1001.0, {"T_STAGE": 77.5, "MODE": "ramp", "HEATER_ON": True}))
    units["HEATER_ON"] = ""  # a reloaded dictionary is followed at the next scrape
    families = {family.name: family for family in metrics.collect()}
    hk = {s.labels["name"]: (s.labels["unit"], s.value) for s in families["controlroom_hk"].samples}
    assert hk == {"T_STAGE": ("K", 77.5), "HEATER_ON": ("", 1.0)}  # OLD is gone, MODE is text
    [when] = families["controlroom_hk_sample_time_seconds"].samples
    assert when.value == 1001.0 and when.labels == {"server": "tempctl"}
    assert families["controlroom_hk_samples"].samples[0].value == 2


def test_the_address_comes_from_defaults_and_the_device_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_LOCAL_SETTINGS", raising=False)
    assert metrics_address(load_settings(), "dummy") == ("127.0.0.1", 0)
    local = tmp_path / "local.yaml"
    local.write_text(
        "defaults:\n  metrics_host: 0.0.0.0\ndevices:\n  dummy:\n    metrics_port: 9712\n"
    )
    assert metrics_address(load_settings(local), "dummy") == ("0.0.0.0", 9712)
    with pytest.raises(SettingsError, match="no device 'nosuch'"):
        metrics_address(load_settings(), "nosuch")


@pytest.mark.parametrize("port", ["-1", "65536", "'9100'"])
def test_a_bad_metrics_port_is_refused(tmp_path: Path, port: str) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(f"devices:\n  dummy:\n    metrics_port: {port}\n")
    with pytest.raises(SettingsError, match=r"devices\.dummy\.metrics_port"):
        load_settings(local)


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_command_metrics_count_each_outcome_and_commands_seen_only_later() -> None:
    registry = CollectorRegistry()
    metrics = CommandMetrics(registry, "bench", ["read_value"])
    failure = ErrorInfo("DummyFault", "on purpose", "", "bench")
    for record in (
        CommandRecord(0.0, "bench", "read_value", [], {}, 0.0002),
        CommandRecord(0.0, "bench", "read_value", [], {}, 0.003),
        CommandRecord(0.0, "bench", "read_value", [], {}, 0.02, error=failure),
        CommandRecord(0.0, "bench", "lease", [5.0], {}, 0.0001),  # not served when attached
    ):
        metrics(record)
    total = "controlroom_commands_total"
    assert _sample(registry, total, server="bench", command="read_value", outcome="ok") == 2
    assert _sample(registry, total, server="bench", command="read_value", outcome="error") == 1
    assert _sample(registry, total, server="bench", command="lease", outcome="ok") == 1
    assert _sample(registry, total, server="bench", command="lease", outcome="error") is None
    duration = "controlroom_command_duration_seconds"
    assert _sample(registry, f"{duration}_count", server="bench", command="read_value") == 3
    fast = {"server": "bench", "command": "read_value", "le": "0.0005"}
    assert _sample(registry, f"{duration}_bucket", **fast) == 1
    assert _sample(registry, f"{duration}_sum", server="bench", command="lease") == 0.0001
