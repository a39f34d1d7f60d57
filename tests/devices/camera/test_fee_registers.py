"""The FEE register map: the YAML layout is checked, fields round-trip, writes wait for apply()."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from controlroom.devices.camera.errors import RegisterAccessError, RegisterMapError
from controlroom.devices.camera.layout import MAX_FILE_BYTES, load_layout, parse_layout
from controlroom.devices.camera.registers import (
    DEFAULT_REGISTERS,
    RegisterMap,
    decode_word,
    encode_word,
)

SEED_NAMES = (
    "sensor_sel",
    "v_start",
    "v_end",
    "h_end",
    "ccd_mode_config",
    "sync_sel",
    "digitise_en",
    "ccd_readout_order",
    "clear_error_flag",
    "error_flags",
    "frame_counter",
)


@pytest.fixture
def document() -> dict[str, Any]:
    return dict(yaml.safe_load(DEFAULT_REGISTERS.read_text()))


@pytest.fixture
def regs() -> RegisterMap:
    return RegisterMap.load()


def _register(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in document["registers"] if r["name"] == name)


def _refused(document: dict[str, Any], *fragments: str) -> None:
    with pytest.raises(RegisterMapError) as caught:
        parse_layout(document)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_the_shipped_map_has_the_names_the_dpu_uses(regs: RegisterMap) -> None:
    assert set(SEED_NAMES) <= set(regs.layout.fields)
    assert regs.layout.areas["config"].access == "rw"
    assert regs.layout.areas["housekeeping"].access == "ro"
    assert regs.field("error_flags").width == 16
    assert all(f.access == "ro" for f in regs.layout.fields.values() if f.address >= 0x700)


def test_defaults_describe_a_full_frame_readout(regs: RegisterMap) -> None:
    assert (regs.get("v_start"), regs.get("v_end"), regs.get("h_end")) == (0, 4539, 2254)
    assert regs.get("sensor_sel") == 3
    assert regs.get("ccd_readout_order") == 0b11100100
    assert regs.get("int_sync_period") == 6250


@pytest.mark.parametrize(
    ("name", "key", "value", "fragments"),
    [
        ("v_end", "offset", 20, ("'v_end'", "do not fit in a 32-bit word")),
        ("h_end", "width", 0, ("'h_end'", "do not fit")),
        ("sensor_sel", "default", 4, ("'sensor_sel'", "default 4 out of range 0..3")),
        ("sync_sel", "address", 0x000E, ("'sync_sel'", "not 32-bit word aligned")),
        ("sync_sel", "address", 0x0400, ("'sync_sel'", "in no area")),
        ("v_start", "access", "wo", ("'v_start'", "access must be one of")),
        ("v_start", "access", "ro", ("'v_start'", "access 'ro' in 'rw' area")),
        ("v_start", "width", "16", ("'v_start'", "'width' must be an integer")),
        ("v_start", "default", True, ("'v_start'", "'default' must be an integer")),
        ("v_start", "description", " ", ("'v_start'", "'description'")),
    ],
)
def test_a_bad_field_is_refused_naming_the_register(
    document: dict[str, Any], name: str, key: str, value: object, fragments: tuple[str, ...]
) -> None:
    _register(document, name)[key] = value
    _refused(document, *fragments)


def test_overlapping_fields_name_both_registers(document: dict[str, Any]) -> None:
    _register(document, "h_end")["width"] = 17  # runs into packet_size at bit 16
    _refused(document, "'packet_size'", "'h_end'", "overlap", "0x0004")


def test_duplicate_names_are_refused(document: dict[str, Any]) -> None:
    twin = copy.deepcopy(_register(document, "v_start"))
    twin["address"] = 0x0010
    document["registers"].append(twin)
    _refused(document, "'v_start'", "duplicate name")


def test_unknown_and_missing_keys_are_refused(document: dict[str, Any]) -> None:
    _register(document, "digitise_en")["units"] = "none"
    _refused(document, "'digitise_en'", "unknown keys ['units']")
    del _register(document, "digitise_en")["units"]
    del _register(document, "digitise_en")["default"]
    _refused(document, "'digitise_en'", "missing keys ['default']")
    document["registrs"] = []
    _refused(document, "unknown keys ['registrs']")


def test_bad_names_and_areas_are_refused(document: dict[str, Any]) -> None:
    _register(document, "v_start")["name"] = "V Start"
    _refused(document, "register #0", "'name' must match")
    _register(document, "V Start")["name"] = "v_start"
    document["areas"]["spare"] = {"start": 0x0080, "size": 0x0100, "access": "rw"}
    _refused(document, "area 'spare'", "overlaps area 'config'")
    document["areas"]["spare"] = {"start": 0xFFF0, "size": 0x0100, "access": "rw"}
    _refused(document, "area 'spare'", "ends beyond")


def test_too_many_registers_are_refused(document: dict[str, Any]) -> None:
    document["registers"] = document["registers"] * 60
    _refused(document, "at most 1024")


def test_load_names_the_file_and_bounds_its_size(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("areas: [unclosed\n")
    with pytest.raises(RegisterMapError, match=r"broken\.yaml: not valid YAML"):
        load_layout(broken)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(RegisterMapError, match="larger than"):
        RegisterMap.load(huge)
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_REGISTERS.read_text().replace("default: 4539", "default: 70000"))
    with pytest.raises(RegisterMapError, match=r"bad\.yaml: register 'v_end': default 70000"):
        RegisterMap.load(bad)


@pytest.mark.parametrize("name", ["v_start", "v_end", "h_end", "sensor_sel", "ccd_readout_order"])
def test_fields_round_trip_without_touching_their_neighbours(regs: RegisterMap, name: str) -> None:
    before = {n: regs.get(n) for n in regs.layout.fields}
    for value in (0, regs.field(name).maximum, regs.field(name).maximum // 3):
        regs.set(name, value)
        regs.apply()
        assert regs.get(name) == value
        others = {n: regs.get(n) for n in regs.layout.fields if n != name}
        assert others == {n: v for n, v in before.items() if n != name}


def test_words_are_big_endian_with_fields_at_their_bits(regs: RegisterMap) -> None:
    regs.set("v_start", 0x0102)
    regs.set("v_end", 0x0A0B)
    regs.apply()
    assert regs.word(0x0000) == 0x0A0B0102
    assert regs.read(0x0000, 4) == bytes([0x0A, 0x0B, 0x01, 0x02])
    assert encode_word(0x0A0B0102) == b"\x0a\x0b\x01\x02"
    assert decode_word(b"\x0a\x0b\x01\x02") == 0x0A0B0102


def test_set_checks_range_type_and_access(regs: RegisterMap) -> None:
    with pytest.raises(
        RegisterAccessError, match=r"'sensor_sel': 4 out of range 0\.\.3 \(2 bits\)"
    ):
        regs.set("sensor_sel", 4)
    with pytest.raises(RegisterAccessError, match="out of range"):
        regs.set("v_end", -1)
    with pytest.raises(RegisterAccessError, match="must be an integer"):
        regs.set("v_end", 3.0)  # type: ignore[arg-type]
    with pytest.raises(RegisterAccessError, match="no register named 'v_stop'"):
        regs.get("v_stop")
    with pytest.raises(RegisterAccessError, match="'error_flags' is read-only"):
        regs.set("error_flags", 1)
    with pytest.raises(RegisterAccessError, match="'v_end' is configuration"):
        regs.set_hk("v_end", 1)


def test_writes_wait_in_the_pending_copy_until_apply(regs: RegisterMap) -> None:
    regs.set("v_end", 99)
    regs.write_word(0x0004, encode_word((40000 << 16) | 1000))
    assert regs.pending_changes
    assert (regs.get("v_end"), regs.get("h_end"), regs.get("packet_size")) == (4539, 2254, 32768)
    assert regs.get("v_end", pending=True) == 99
    assert regs.word(0x0004, pending=True) == (40000 << 16) | 1000
    active_before = regs.snapshot()
    regs.apply()
    assert not regs.pending_changes
    assert (regs.get("v_end"), regs.get("h_end"), regs.get("packet_size")) == (99, 1000, 40000)
    assert regs.snapshot() != active_before


def test_housekeeping_changes_at_once_and_survives_apply(regs: RegisterMap) -> None:
    regs.set_hk("frame_counter", 1234)
    regs.set_hk("error_flags", 0x8001)
    assert regs.get("frame_counter") == 1234
    assert regs.get("error_flags", pending=True) == 0x8001
    regs.apply()
    assert (regs.get("frame_counter"), regs.get("error_flags")) == (1234, 0x8001)
    assert regs.read_area("housekeeping")[:4] == (1234).to_bytes(4, "big")


@pytest.mark.parametrize(
    ("address", "data", "message"),
    [
        (0x0700, b"\x00\x00\x00\x01", "read-only area 'housekeeping'"),
        (0x0002, b"\x00\x00\x00\x01", "not 32-bit word aligned"),
        (0x0400, b"\x00\x00\x00\x01", "not inside one area"),
        (0x0000, b"\x00\x01", "a register word is 4 bytes, got 2"),
        (0x0000, b"\x00" * 8, "got 8"),
    ],
)
def test_rmap_writes_outside_the_configuration_are_refused(
    regs: RegisterMap, address: int, data: bytes, message: str
) -> None:
    before = regs.snapshot(pending=True)
    with pytest.raises(RegisterAccessError, match=message):
        regs.write_word(address, data)
    assert regs.snapshot(pending=True) == before


def test_reads_stay_inside_one_area(regs: RegisterMap) -> None:
    assert len(regs.read(0x0700, 0x100)) == 0x100
    with pytest.raises(RegisterAccessError, match="not inside one area"):
        regs.read(0x00FC, 8)
    with pytest.raises(RegisterAccessError, match="positive multiple of 4"):
        regs.read(0x0000, 6)
    with pytest.raises(RegisterAccessError, match="no area named 'hk'"):
        regs.read_area("hk")


def test_a_snapshot_restores_a_mirror(regs: RegisterMap) -> None:
    regs.set("ccd_mode_config", 5)
    regs.set_hk("timecode", 17)
    regs.apply()
    mirror = RegisterMap.load()
    mirror.restore(regs.snapshot())
    assert mirror.get("ccd_mode_config") == 5 and mirror.get("timecode") == 17
    assert not mirror.pending_changes
    array = regs.as_array()
    assert array.dtype == np.uint8 and array.tobytes() == regs.snapshot()
    array[:] = 0  # a copy: the map is unchanged
    assert regs.get("ccd_mode_config") == 5
    with pytest.raises(RegisterAccessError, match="snapshot is 3 bytes"):
        mirror.restore(b"abc")
