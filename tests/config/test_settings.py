"""Settings: packaged file + local override, deep merge, validation with file:line:key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from controlroom.config.errors import ConfigError
from controlroom.config.navdict import NavigableDict
from controlroom.config.settings import (
    LOCAL_SETTINGS_ENV,
    SettingsError,
    deep_merge,
    device_settings,
    load_settings,
    location,
    packaged_settings_path,
    settings_sources,
)

Writer = Callable[..., Path]


@pytest.fixture(autouse=True)
def no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOCAL_SETTINGS_ENV, raising=False)


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write a YAML file (dedented) under tmp_path and return its path."""

    def write_file(text: str, name: str = "settings.local.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write_file


def problem_lines(exc: pytest.ExceptionInfo[SettingsError]) -> list[str]:
    return [str(exc.value), *exc.value.details]


# --- merging -------------------------------------------------------------------------------------


def test_deep_merge_merges_mappings_and_replaces_everything_else() -> None:
    base = {"a": {"x": 1, "y": [1, 2, 3]}, "b": {"c": 1}, "keep": True}
    override = {"a": {"y": [9], "z": 2}, "b": None}
    merged = deep_merge(base, override)
    assert merged == {"a": {"x": 1, "y": [9], "z": 2}, "b": None, "keep": True}
    assert base == {"a": {"x": 1, "y": [1, 2, 3]}, "b": {"c": 1}, "keep": True}  # untouched


def test_packaged_settings_alone() -> None:
    settings = load_settings()
    assert settings_sources(settings) == (packaged_settings_path(),)
    assert settings["site"] == "LAB"
    assert settings["hosts"]["default"] == "127.0.0.1"
    assert set(settings["services"]) == {
        "confman",
        "storage",
        "logman",
        "registry",
        "procman",
        "scheduler",
        "scenarios",
    }
    assert settings["security"]["allowed_packages"] == ["controlroom.devices"]
    assert settings["defaults"]["proxy_timeout_s"] == 5.0
    tempctl = device_settings(settings, "tempctl")
    assert tempctl["controller"] == "controlroom.devices.tempctl:TempCtlController"
    assert tempctl["simulator"]["module"] == "controlroom.devices.tempctl.sim.server"
    assert tempctl["demo"][0] == ["set_output_mode", 1, "CLOSED_LOOP", "A"]


def test_settings_are_a_navigable_dict() -> None:
    settings = load_settings()
    assert isinstance(settings, NavigableDict)
    assert settings.devices.dummy.controller == "controlroom.devices.dummy:DummySensor"
    assert settings.defaults.spin_us == 100


def test_directives_resolve_in_settings(write: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROLROOM_TEST_HOST", "10.1.2.3")
    settings = load_settings(write("hosts:\n  cryostat: env//CONTROLROOM_TEST_HOST\n"))
    assert settings.hosts.cryostat == "10.1.2.3"
    assert dict.__getitem__(settings["hosts"], "cryostat") == "env//CONTROLROOM_TEST_HOST"


def test_service_ports_are_distinct_and_in_the_6000s() -> None:
    services = load_settings()["services"]
    endpoints = [e for entry in services.values() for e in (entry["commands"], entry["publish"])]
    ports = [int(e.rsplit(":", 1)[1]) for e in endpoints]
    assert len(set(ports)) == len(ports)
    assert all(6000 <= port < 7000 for port in ports)


def test_the_environment_variable_names_the_local_file(
    write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = write("""
        site: CSL
        devices:
          dummy:
            hk_period_s: 2.5
          mine:
            controller: controlroom.devices.dummy:DummySensor
            my_own_key: kept
    """)
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(local))
    settings = load_settings()
    assert settings_sources(settings) == (packaged_settings_path(), str(local))
    assert settings["site"] == "CSL"
    dummy = device_settings(settings, "dummy")
    assert dummy["hk_period_s"] == 2.5
    assert dummy["controller"] == "controlroom.devices.dummy:DummySensor"  # merged, not replaced
    assert device_settings(settings, "mine")["my_own_key"] == "kept"
    assert "tempctl" in settings["devices"]


def test_an_explicit_file_wins_over_the_environment(
    write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(write("site: FROM_ENV\n", "env.yaml")))
    explicit = write("site: EXPLICIT\n", "explicit.yaml")
    settings = load_settings(explicit)
    assert settings["site"] == "EXPLICIT"
    assert settings_sources(settings)[-1] == str(explicit)


def test_an_empty_local_file_changes_nothing(write: Writer) -> None:
    assert load_settings(write("# nothing yet\n")) == load_settings()


# --- errors --------------------------------------------------------------------------------------


def test_a_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"cannot read local settings .*nope\.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_a_yaml_syntax_error_names_file_and_line(write: Writer) -> None:
    local = write("""
        site: LAB
        devices:
          dummy:
            hk_period_s: [1.0
    """)
    with pytest.raises(SettingsError) as exc:
        load_settings(local)
    assert str(exc.value).startswith(f"{local}:4: ")
    assert isinstance(exc.value, ConfigError)


def test_a_duplicate_key_is_refused(write: Writer) -> None:
    local = write("devices:\n  dummy:\n    hk_period_s: 1\n    hk_period_s: 2\n")
    with pytest.raises(SettingsError, match=rf"^{local}:4: duplicate key 'hk_period_s' .*line 3"):
        load_settings(local)


def test_the_top_level_must_be_a_mapping(write: Writer) -> None:
    with pytest.raises(SettingsError, match="top level must be a mapping"):
        load_settings(write("- a\n- b\n"))


def test_a_wrong_local_value_names_local_file_line_and_key(write: Writer) -> None:
    local = write("""
        devices:
          tempctl:
            hk_period_s: fast
    """)
    with pytest.raises(SettingsError) as exc:
        load_settings(local)
    assert problem_lines(exc) == [
        f"{local}:3: devices.tempctl.hk_period_s: Input should be a valid number"
    ]


def test_a_wrong_packaged_value_names_the_packaged_file(write: Writer) -> None:
    text = Path(packaged_settings_path()).read_text()
    assert "  spin_us: 100\n" in text
    packaged = write(text.replace("  spin_us: 100\n", "  spin_us: fast\n"), "base.yaml")
    line = text.splitlines().index("  spin_us: 100") + 1
    # The local file touches the same section but not the bad key: the packaged file is at fault.
    local = write("defaults:\n  proxy_timeout_s: 2.0\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(local, packaged=packaged)
    assert problem_lines(exc) == [
        f"{packaged}:{line}: defaults.spin_us: Input should be a valid number"
    ]
    # A local value that replaces the bad one makes the whole valid.
    fixed = write("defaults:\n  spin_us: 50\n", "fixed.yaml")
    assert load_settings(fixed, packaged=packaged)["defaults"]["spin_us"] == 50


def test_every_problem_is_reported(write: Writer) -> None:
    local = write("""
        devices:
          newdev:
            description: no controller here
          dummy:
            commands: tcp:/127.0.0.1:6710
            demo:
              - [ping]
              - not a list
        defaults:
          hk_perod_s: 2.0
        locatons: {}
    """)
    with pytest.raises(SettingsError) as exc:
        load_settings(local)
    assert problem_lines(exc) == [  # in file order
        f"{local}:2: devices.newdev: missing key: controller (package.module:Class) or table",
        f"{local}:5: devices.dummy.commands: not a ZeroMQ endpoint "
        "(tcp://host:port, ipc://path or inproc://name)",
        f"{local}:8: devices.dummy.demo[1]: Input should be a valid list",
        f"{local}:10: defaults.hk_perod_s: unknown key (did you mean 'hk_period_s'?)",
        f"{local}:11: locatons: unknown key (did you mean 'locations'?)",
    ]


def test_allowed_packages_must_be_package_names(write: Writer) -> None:
    local = write("security:\n  allowed_packages: [controlroom.devices, '']\n")
    with pytest.raises(SettingsError, match=r":2: security\.allowed_packages\[1\]: not a package"):
        load_settings(local)


def test_strict_types_refuse_a_quoted_number(write: Writer) -> None:
    with pytest.raises(SettingsError, match=r"defaults\.proxy_timeout_s: Input should be"):
        load_settings(write("defaults:\n  proxy_timeout_s: '5'\n"))


def test_user_keys_are_allowed_where_documented(write: Writer) -> None:
    local = write("""
        hosts:
          cryostat-pc: 10.0.0.7
        x_lab:
          anything: [goes, here]
        devices:
          dummy:
            cabinet: B3
    """)
    settings = load_settings(local)
    assert settings["x_lab"] == {"anything": ["goes", "here"]}
    assert settings["devices"]["dummy"]["cabinet"] == "B3"


# --- locations, devices, import time -------------------------------------------------------------


def test_locations_default_to_the_xdg_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = load_settings()
    assert location(settings, "conf_repo") == tmp_path / "data" / "controlroom" / "setups"
    assert location(settings, "data") == tmp_path / "data" / "controlroom" / "data"
    assert location(settings, "state") == tmp_path / "state" / "controlroom"


def test_configured_locations_and_the_older_state_dir(write: Writer, tmp_path: Path) -> None:
    legacy = load_settings(write(f"runtime:\n  state_dir: {tmp_path / 'old'}\n"))
    assert location(legacy, "state") == tmp_path / "old"
    both = f"runtime:\n  state_dir: {tmp_path / 'old'}\nlocations:\n  state: {tmp_path / 'new'}\n"
    assert location(load_settings(write(both)), "state") == tmp_path / "new"
    with pytest.raises(SettingsError, match="no location 'logs'"):
        location(legacy, "logs")


def test_an_unknown_device_lists_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"no device 'nope' .*known: .*dummy, .*tempctl"):
        device_settings(load_settings(), "nope")


def test_a_plain_mapping_has_no_sources() -> None:
    assert settings_sources({"site": "LAB"}) == ()


def test_nothing_is_loaded_at_import_time(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [unclosed\n")
    env = {LOCAL_SETTINGS_ENV: str(broken), "PATH": ""}

    def run(code: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", code]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    imported = run("import controlroom.config, controlroom.config.settings, controlroom.cli.main")
    assert imported.returncode == 0, imported.stderr
    loaded = run("from controlroom.config import load_settings; load_settings()")
    assert loaded.returncode != 0 and f"{broken}:1" in loaded.stderr  # the file is really bad


def test_settings_a_parent_validated_are_not_validated_again(
    write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import controlroom.config.settings as settings_module

    monkeypatch.delenv(settings_module.VALIDATED_ENV, raising=False)
    path = write("site: CHILD\n", "local.yaml")
    load_settings(path)
    digest = os.environ[settings_module.VALIDATED_ENV]  # inherited by the children we start

    def must_not_run(*_: object) -> None:
        raise AssertionError("validated again")

    monkeypatch.setattr(settings_module, "_validate", must_not_run)
    assert load_settings(path)["site"] == "CHILD"
    # Other Settings (here a typo) are validated, whatever a parent checked.
    monkeypatch.undo()
    monkeypatch.setenv(settings_module.VALIDATED_ENV, digest)
    with pytest.raises(SettingsError, match="sitee"):
        load_settings(write("sitee: CHILD\n", "other.yaml"))


def test_typos_in_the_bridges_get_suggestions_too(write: Writer) -> None:
    local = write("bridges:\n  pipe:\n    alow: {}\n  nodes:\n    heartbeat_timout_s: 1.0\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(local)
    assert problem_lines(exc) == [
        f"{local}:3: bridges.pipe.alow: unknown key (did you mean 'allow'?)",
        f"{local}:5: bridges.nodes.heartbeat_timout_s: unknown key "
        "(did you mean 'heartbeat_timeout_s'?)",
    ]
