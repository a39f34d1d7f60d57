"""What a process started from here inherits of its host, and where its state files go."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.config.settings import load_settings
from controlroom.processes.detached import LocalState
from controlroom.processes.entry import ProcessError
from controlroom.rpc.hosts import HOST_ENV
from controlroom.services.procman.stopmark import StopMark, procman_directory


def test_a_host_named_on_the_command_line_is_every_child_s(
    local_settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HOST_ENV, raising=False)
    settings = load_settings(local_settings)
    state = tmp_path / "state"
    here = LocalState(settings)
    assert here.host_name == "default" and HOST_ENV not in here.child_env()
    assert here.files.directory == state  # a lab of one host keeps its layout
    bench = LocalState(settings, host="bench")
    assert bench.child_env()[HOST_ENV] == "bench"
    # Hosts sharing one state folder (network namespaces, a home on NFS) keep apart.
    assert bench.files.directory == state / "hosts" / "bench"
    assert procman_directory(settings, "bench") == state / "hosts" / "bench" / "procman"
    assert StopMark.of(settings, "bench").path.parent == procman_directory(settings, "bench")
    assert procman_directory(settings) == state / "procman"
    monkeypatch.setenv(HOST_ENV, "bench")  # what the children see
    two_hosts = {**settings, "hosts": {"default": "127.0.0.1", "bench": "127.0.0.1"}}
    assert procman_directory(two_hosts) == procman_directory(settings, "bench")


def test_a_wrong_host_in_the_environment_is_a_clear_error(
    local_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOST_ENV, "hexapod")
    with pytest.raises(ProcessError, match="CONTROLROOM_HOST: 'hexapod' is not a host"):
        LocalState(load_settings(local_settings)).files  # noqa: B018 (the property raises)
