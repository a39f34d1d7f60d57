"""Setup directives resolved on access: class//, factory//, yaml//, csv//, int_enum//, env//."""

from __future__ import annotations

import enum
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controlroom.config.directives import Directive, parse_directive
from controlroom.config.errors import ConfigError, DirectiveError
from controlroom.config.navdict import NavigableDict
from controlroom.devices.dummy import DummySensor

DATA = Path(__file__).parent / "data"
KIT = "navdict_testkit"  # a module made per test, so a custom allow-list can name it


class Counted:
    """Counts its instances, to see how often a directive made one."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        self.args, self.kwargs = args, kwargs


class Factory:
    def create(self, **kwargs: Any) -> Counted:
        return Counted(factory=True, **kwargs)


class Broken:
    def __init__(self) -> None:
        raise RuntimeError("no cable")


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(KIT)
    Counted.made = 0
    for cls in (Counted, Factory, Broken):  # as if the kit's module defined them
        monkeypatch.setattr(cls, "__module__", KIT)
    module.__dict__.update(Counted=Counted, Factory=Factory, Broken=Broken, not_a_class=len)
    monkeypatch.setitem(sys.modules, KIT, module)
    return module


def kit_dict(data: dict[str, Any]) -> NavigableDict:
    return NavigableDict(data, allowed_packages=[KIT])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("class//a.b.C", Directive("class", "a.b.C")),
        ("env// HOME ", Directive("env", "HOME")),
        ("tcp://127.0.0.1:5555", None),
        ("C://data", None),
        ("plain", None),
        (42, None),
    ],
)
def test_parse_directive(text: object, expected: Directive | None) -> None:
    assert parse_directive(text) == expected


@pytest.mark.parametrize(
    "form", ["controlroom.devices.dummy.DummySensor", "controlroom.devices.dummy:DummySensor"]
)
def test_class_directive_instantiates_with_device_kwargs(form: str) -> None:
    setup = NavigableDict(
        {"gse": {"probe": {"device": f"class//{form}", "device_kwargs": {"baseline": 5.0}}}}
    )
    device = setup.gse.probe.device
    assert isinstance(device, DummySensor)
    assert device._baseline == 5.0
    assert setup.gse.probe.raw("device") == f"class//{form}"
    assert setup.gse.probe.get_raw_value("device") == f"class//{form}"


def test_a_class_target_is_made_once_and_again_when_its_arguments_change(kit: Any) -> None:
    setup = kit_dict({"psu": {"device": f"class//{KIT}.Counted", "device_args": [2]}})
    first = setup.psu.device
    assert setup.psu.device is first and setup.psu["device"] is first
    assert Counted.made == 1 and first.args == (2,)
    setup.psu.device_args.append(3)
    assert setup.psu.device.args == (2, 3) and Counted.made == 2


def test_device_args_must_be_a_list(kit: Any) -> None:
    setup = kit_dict({"psu": {"device": f"class//{KIT}.Counted", "device_args": {"a": 1}}})
    with pytest.raises(DirectiveError, match=r"psu\.device_args: must be a list"):
        _ = setup.psu.device


def test_directives_inside_device_kwargs_resolve(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSU_PORT", "30010")
    setup = kit_dict(
        {"psu": {"device": f"class//{KIT}:Counted", "device_kwargs": {"port": "env//PSU_PORT"}}}
    )
    assert setup.psu.device.kwargs == {"port": "30010"}


def test_factory_directive_calls_create_with_device_args(kit: Any) -> None:
    setup = kit_dict(
        {"hexapod": {"device": f"factory//{KIT}.Factory", "device_args": {"device_id": "1A"}}}
    )
    assert setup.hexapod.device.kwargs == {"factory": True, "device_id": "1A"}
    setup.hexapod.device_args.device_id = "1B"  # as in the CGSE manual: a new device
    assert setup.hexapod.device.kwargs["device_id"] == "1B"


def test_a_factory_without_create_is_refused(kit: Any) -> None:
    setup = kit_dict({"x": {"device": f"factory//{KIT}.Counted"}})
    with pytest.raises(DirectiveError, match=r"^x.device: factory Counted has no create\(\)"):
        _ = setup.x.device


def test_a_failing_constructor_names_the_key(kit: Any) -> None:
    setup = kit_dict({"gse": {"x": {"device": f"class//{KIT}.Broken"}}})
    with pytest.raises(
        DirectiveError, match=r"^gse.x.device: Broken\(\) failed: RuntimeError: no cable"
    ):
        _ = setup.gse.x.device


def test_a_package_outside_the_allow_list_is_refused_before_import() -> None:
    setup = NavigableDict({"gse": {"evil": {"device": "class//os.system"}}})
    with pytest.raises(
        DirectiveError,
        match=r"^gse\.evil\.device: 'os' is not in an allowed package \(allowed: controlroom\.dev",
    ):
        _ = setup.gse.evil.device
    lookalike = NavigableDict({"d": "class//controlroom.devicesX.mod.C"})
    with pytest.raises(DirectiveError, match="not in an allowed package"):
        _ = lookalike.d


def test_the_allow_list_reaches_nested_dicts_and_yaml_files(kit: Any, tmp_path: Path) -> None:
    (tmp_path / "inner.yaml").write_text(f"dev:\n  device: class//{KIT}.Counted\n")
    setup = NavigableDict(
        {"a": {"b": {"device": f"class//{KIT}.Counted"}}, "inner": "yaml//inner.yaml"},
        source_dir=tmp_path,
        allowed_packages=[KIT],
    )
    assert isinstance(setup.a.b.device, Counted)
    assert isinstance(setup.inner.dev.device, Counted)
    default = NavigableDict.from_dict(setup, source_dir=tmp_path)  # re-wrapping narrows it
    with pytest.raises(
        DirectiveError, match=r"inner\.dev\.device: 'navdict_testkit' is not in an allowed"
    ):
        _ = default.inner.dev.device


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "controlroom.devices.no_such_module.Thing",
            "cannot import 'controlroom.devices.no_such_module'",
        ),
        ("controlroom.devices.dummy.NoSuchClass", "has no 'NoSuchClass'"),
        ("controlroom.devices.dummy.sensor:_private", "is private"),
        ("Nothing", "is not of the form"),
    ],
)
def test_import_failures_name_the_key(target: str, message: str) -> None:
    setup = NavigableDict({"gse": {"tempctl": {"device": f"class//{target}"}}})
    with pytest.raises(DirectiveError, match=rf"^gse.tempctl.device: .*{message}"):
        _ = setup.gse.tempctl.device


def test_a_class_directive_must_name_a_class(kit: Any) -> None:
    with pytest.raises(DirectiveError, match="is not a class"):
        _ = kit_dict({"d": f"class//{KIT}.not_a_class"}).d


def test_yaml_and_csv_files_are_relative_to_their_own_file() -> None:
    setup = NavigableDict.from_yaml_file(DATA / "setup.yaml")
    calibration = setup.gse.heater.calibration
    assert isinstance(calibration, NavigableDict) and calibration.model == "Pt100"
    curve = calibration.curve  # csv//curve.csv, next to heater.yaml, not setup.yaml
    assert isinstance(curve, np.ndarray) and curve.shape == (3, 2)
    assert curve[1].tolist() == [300.0, 110.5]
    assert setup.gse.heater.calibration is calibration


def test_csv_without_header(tmp_path: Path) -> None:
    table = NavigableDict({"t": "csv//plain.csv"}, source_dir=DATA).t
    np.testing.assert_array_equal(table, [[1, 2, 3], [4, 5, 6]])
    assert table.dtype == np.float64


def test_a_ragged_csv_names_the_key_file_and_line() -> None:
    setup = NavigableDict({"cal": {"t": "csv//ragged.csv"}}, source_dir=DATA)
    with pytest.raises(DirectiveError, match=r"^cal.t: .*ragged\.csv:3: 1 columns, expected 2"):
        _ = setup.cal.t


@pytest.mark.parametrize("kind", ["yaml", "csv"])
def test_a_missing_file_names_the_key(kind: str, tmp_path: Path) -> None:
    setup = NavigableDict({"cal": {"table": f"{kind}//missing.{kind}"}}, source_dir=tmp_path)
    with pytest.raises(DirectiveError, match=rf"^cal.table: no file .*missing\.{kind}"):
        _ = setup.cal.table


def test_a_broken_yaml_file_names_the_key_and_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    setup = NavigableDict({"sub": "yaml//bad.yaml"}, source_dir=tmp_path)
    with pytest.raises(DirectiveError, match=r"^sub: .*bad\.yaml:2:\d+: invalid YAML"):
        _ = setup.sub


def test_int_enum_from_a_mapping() -> None:
    setup = NavigableDict.from_yaml_file(DATA / "setup.yaml")
    mode = setup.gse.heater.mode
    assert issubclass(mode, enum.IntEnum) and mode.__name__ == "HeaterMode"
    assert mode.HIGH == 3 and mode(1).name == "LOW"
    assert setup.gse.heater.mode is mode


def test_int_enum_from_a_list_is_numbered_from_zero_and_named_after_the_mapping() -> None:
    setup = NavigableDict(
        {"filter_wheel": {"positions": "int_enum//", "members": ["OPEN", "ND1", "ND2"]}}
    )
    positions = setup.filter_wheel.positions
    assert positions.__name__ == "filter_wheel"
    assert [(m.name, m.value) for m in positions] == [("OPEN", 0), ("ND1", 1), ("ND2", 2)]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (None, "w.members: int_enum// needs a mapping"),
        ({"A": "1"}, r"w.members.A: '1' is not an int"),
        ({"A": True}, "is not an int"),
        (["A", "A"], "cannot build enum"),
        (["_A"], "is not a member name"),
        ([], "needs members"),
    ],
)
def test_bad_int_enum_members_name_the_key(members: object, message: str) -> None:
    setup = NavigableDict({"w": {"e": "int_enum//E", "members": members}})
    with pytest.raises(DirectiveError, match=message):
        _ = setup.w.e


def test_env_directive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CR_TEST_HOST", "lab-pc")
    monkeypatch.delenv("CR_TEST_MISSING", raising=False)
    setup = NavigableDict({"host": "env//CR_TEST_HOST", "db": {"pw": "env//CR_TEST_MISSING"}})
    assert setup.host == "lab-pc"
    with pytest.raises(
        DirectiveError, match=r"^db.pw: environment variable 'CR_TEST_MISSING' is not set"
    ):
        _ = setup.db.pw


def test_an_unknown_directive_names_the_key_and_the_known_ones() -> None:
    setup = NavigableDict({"gse": {"table": "pandas//x.csv"}})
    with pytest.raises(
        DirectiveError, match=r"^gse.table: unknown directive pandas// \(known: class//, csv//"
    ):
        _ = setup.gse.table
    assert issubclass(DirectiveError, ConfigError)


def test_resolving_everything_and_printing_nothing(kit: Any) -> None:
    setup = kit_dict({"a": {"device": f"class//{KIT}.Counted"}, "n": 1})
    assert "class//navdict_testkit.Counted" in setup.pretty_str()
    assert setup.to_dict() == {"a": {"device": f"class//{KIT}.Counted"}, "n": 1}
    assert Counted.made == 0  # printing and raw export never instantiate
    resolved = setup.to_dict(resolve=True)
    assert isinstance(resolved["a"]["device"], Counted) and type(resolved["a"]) is dict


def test_a_grafted_navigable_dict_keeps_its_files_but_takes_the_new_path(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("1,2\n")
    part = NavigableDict({"table": "csv//t.csv", "bad": "nope//x"}, source_dir=tmp_path)
    setup = NavigableDict({"gse": {}})
    setup.gse.cal = part
    assert setup.gse.cal.table.tolist() == [[1.0, 2.0]]
    with pytest.raises(DirectiveError, match=r"^gse\.cal\.bad: unknown directive"):
        _ = setup.gse.cal.bad


def test_replacing_a_directive_forgets_the_old_value(kit: Any) -> None:
    setup = kit_dict({"d": f"class//{KIT}.Counted"})
    first = setup.d
    setup.d = f"class//{KIT}:Counted"
    assert setup.d is not first
