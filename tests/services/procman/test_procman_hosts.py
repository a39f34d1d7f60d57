"""Where each process runs on a lab of several hosts, seen from each host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.config.settings import Settings, load_settings
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.hosts import (
    is_local,
    lab_hosts,
    local_specs,
    placement,
    server_host,
)
from controlroom.services.procman.managers import (
    managers_of,
    own_endpoint,
    procman_host,
    procman_name,
    reachable_from,
)
from controlroom.services.procman.specs import process_specs

PY = "/opt/python"
HOSTS = {"server": "10.0.0.1", "bench": "10.0.0.2", "desk": "10.0.0.3"}
SERVER = ["localhost", "127.0.0.1", "0.0.0.0", "lab-pc", "10.0.0.1"]  # names and addresses
BENCH = ["localhost", "127.0.0.1", "0.0.0.0", "lab-pc", "10.0.0.2"]  # a clone: same name
CORE = ["registry", "logman", "confman", "storage", "scheduler", "scenarios"]
SETUP = {
    "devices": {"dummy": {"host": "bench"}, "tempctl": {"simulated": True, "host": "10.0.0.2"}},
    "bridges": {"pipe": {}},
}


def settings_with(tmp_path: Path, **sections: Any) -> Settings:
    sections.setdefault("web", {"enabled": True, "host": "0.0.0.0", "port": 0})
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return load_settings(path)


def lab(tmp_path: Path, registry: dict[str, str] | None = None) -> Settings:
    """The core services on the server host: by address, or ``registry`` as given."""
    services = {
        name: {"commands": f"tcp://10.0.0.1:{6000 + 10 * i}"} for i, name in enumerate(CORE)
    }
    if registry is not None:
        services["registry"] = registry
    return settings_with(tmp_path, hosts=HOSTS, services=services)


def names_here(settings: Settings, names: list[str]) -> list[str]:
    return [s.name for s in local_specs(process_specs(settings, SETUP, python=PY), settings, names)]


def test_each_host_runs_its_own_share_of_one_lab(tmp_path: Path) -> None:
    settings = lab(tmp_path)
    # The panel (0.0.0.0) and the pipe server (loopback) name no machine: the server host's.
    assert names_here(settings, SERVER) == [*CORE, "pipe", "web"]
    assert names_here(settings, BENCH) == ["dummy", "tempctl-sim", "tempctl"]
    assert names_here(settings, ["127.0.0.1", "10.0.0.3"]) == []


def test_a_device_s_settings_may_name_its_host_and_the_setup_another(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path, hosts=HOSTS, devices={"dummy": {"host": "desk"}, "psu": {"host": "desk"}}
    )
    setup = {"devices": {"dummy": {}, "psu": {"host": "bench"}}}
    specs = {s.name: s.host for s in process_specs(settings, setup)}
    assert specs["dummy"] == "desk" and specs["psu"] == "bench"


def test_what_a_host_needs_from_another_is_waited_for_not_started(tmp_path: Path) -> None:
    settings = lab(tmp_path)
    bench = {s.name: s for s in local_specs(process_specs(settings, SETUP), settings, BENCH)}
    assert bench["dummy"].remote_after == ("registry", "logman", "confman", "storage")
    assert bench["tempctl"].remote_after == ("registry", "logman", "confman", "storage")
    assert bench["tempctl-sim"].remote_after == ()
    server = {s.name: s for s in local_specs(process_specs(settings, SETUP), settings, SERVER)}
    assert all(spec.remote_after == () for spec in server.values())


def test_a_service_on_every_address_is_placed_by_its_host_key(tmp_path: Path) -> None:
    wildcard = {"commands": "tcp://0.0.0.0:6030", "host": "server"}
    settings = lab(tmp_path, registry=wildcard)
    assert server_host(settings) == "server"
    assert names_here(settings, SERVER)[0] == "registry"
    assert "registry" not in names_here(settings, BENCH)
    # Without the key the address names no machine: every host would run a registry.
    unplaced = lab(tmp_path, registry={"commands": "tcp://0.0.0.0:6030"})
    assert server_host(unplaced) is None
    assert "registry" in names_here(unplaced, BENCH) and "registry" in names_here(unplaced, SERVER)


def test_a_host_key_the_settings_do_not_list_is_refused(tmp_path: Path) -> None:
    settings = lab(tmp_path, registry={"commands": "tcp://0.0.0.0:6030", "host": "sever"})
    with pytest.raises(SpecError, match=r"services\.registry\.host: 'sever' is not a host"):
        process_specs(settings)


def test_a_single_host_lab_on_loopback_runs_everything_here(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, web={"enabled": True, "host": "127.0.0.1", "port": 0})
    setup = {"devices": {"dummy": {}}}
    local = local_specs(process_specs(settings, setup), settings, ["127.0.0.1", "localhost"])
    assert [s.name for s in local] == [*CORE, "dummy", "web"]
    assert all(s.remote_after == () for s in local)


def test_the_host_is_chosen_by_name_when_given(tmp_path: Path) -> None:
    settings = lab(tmp_path)
    # Both hosts on one machine: only `me` (CONTROLROOM_HOST) tells them apart.
    both = [*SERVER, "10.0.0.2"]
    assert is_local("bench", settings, both, me="bench")
    assert not is_local("bench", settings, both, me="server")
    assert not is_local("0.0.0.0", settings, both, me="bench")  # the server host's
    assert is_local("lab-pc", settings, both, me="bench")  # a machine name not in `hosts`
    assert placement("10.0.0.3", settings) == "desk" and placement("127.0.0.1", settings) is None


def test_the_hosts_of_the_lab_this_one_first(tmp_path: Path) -> None:
    settings = lab(tmp_path)  # the packaged `default: 127.0.0.1` is merged in
    assert lab_hosts(settings, "bench") == ["bench", "server", "desk"]
    assert lab_hosts(settings, "default") == ["default", "server", "bench", "desk"]
    assert lab_hosts(settings_with(tmp_path), "default") == ["default"]


def test_each_process_manager_has_a_registry_name_of_its_host() -> None:
    assert procman_name("bench") == "procman@bench"
    assert procman_host("procman@bench") == "bench"
    assert procman_host("procman") is None and procman_host("dummy@bench") is None
    entries = [{"name": "procman@a", "host": "a"}, {"name": "dummy"}, {"name": "procman@b"}]
    assert sorted(managers_of(entries)) == ["a", "b"]


def test_a_loopback_endpoint_of_another_host_is_not_reached_from_here() -> None:
    settings = {"hosts": {"server": "10.0.0.1", "bench": "10.0.0.2", "twin": "127.0.0.1"}}
    assert reachable_from(settings, "tcp://10.0.0.2:6040", "bench", "server")
    assert not reachable_from(settings, "tcp://127.0.0.1:6040", "bench", "server")
    assert reachable_from(settings, "tcp://127.0.0.1:6040", "server", "server")
    assert reachable_from(settings, "tcp://127.0.0.1:6040", "twin", "server")  # same machine
    assert not reachable_from(settings, "ipc:///tmp/procman", "bench", "server")


def test_every_host_binds_the_one_procman_endpoint_on_its_own_address() -> None:
    settings = {"hosts": {"default": "127.0.0.1", **HOSTS}}
    on_server = "tcp://10.0.0.1:6040"
    assert own_endpoint(settings, on_server, "server") == on_server
    assert own_endpoint(settings, on_server, "bench") == "tcp://10.0.0.2:6040"
    assert own_endpoint(settings, "tcp://0.0.0.0:6040", "bench") == "tcp://0.0.0.0:6040"
    assert own_endpoint(settings, "tcp://127.0.0.1:6040", "bench") == "tcp://127.0.0.1:6040"
    assert own_endpoint(settings, on_server, "hexapod") == on_server  # no address to move to
