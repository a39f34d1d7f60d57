"""The configuration manager's bounds: files a Setup names, Setup sizes, queries during a submit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.config.settings import load_settings
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.rpc import ControlServer, MessageTooLarge, RemoteError
from controlroom.services.confman import gitstore
from controlroom.services.confman.repository import SetupRepository
from controlroom.services.confman.server import (
    ConfigurationManager,
    build_manager,
    build_server,
    request_limit,
)

ANY_PORT = "tcp://127.0.0.1:0"
HEXAPOD = {"gse": {"hexapod": {"ID": 42, "name": "PUNA"}}}
SECRET = "root:$6$not-for-the-panel"
MAX_SETUP_BYTES = 256 * 1024
WAIT_S = 30.0  # generous: each wait ends on a signal long before


@pytest.fixture
def locations(tmp_path: Path) -> dict[str, Path]:
    return {name: tmp_path / name for name in ("conf_repo", "data", "state")}


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A mode-600 file outside the data directory: what a Setup must not get at."""
    path = tmp_path / "private" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


@pytest.fixture
def confman(
    tmp_path: Path, locations: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ControlServer, DeviceProxy]]:
    local = {
        "site": "LAB",
        "services": {
            "confman": {
                "commands": ANY_PORT,
                "publish": ANY_PORT,
                "max_setup_bytes": MAX_SETUP_BYTES,
            }
        },
        "locations": {name: str(path) for name, path in locations.items()},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    server = build_server(load_settings(path))
    server.start()
    proxy = make_proxy(ConfigurationManager, server.endpoint, timeout=10.0)
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


def web(status_file: str, accept_file: str = "lab/accept.txt") -> dict[str, Any]:
    return {**HEXAPOD, "web": {"status_file": status_file, "accept_file": accept_file}}


def refusal(call: Any) -> str:
    with pytest.raises(RemoteError) as caught:
        call()
    assert caught.value.info.type == "InvalidSetup"
    message = str(caught.value)
    assert SECRET not in message
    return message


def test_a_setup_naming_a_file_outside_the_data_directory_is_refused_at_submit(
    confman: tuple[ControlServer, DeviceProxy], secret: Path, locations: dict[str, Path]
) -> None:
    _, proxy = confman
    data = locations["data"]
    (data / "lab").mkdir(parents=True)
    (data / "lab" / "link").symlink_to(secret)
    (data / "up").symlink_to(secret.parent)
    attempts = {
        "web.status_file": web(str(secret)),
        "web.accept_file": web("lab/status.txt", str(secret.parent / "accept.txt")),
    }
    for key, setup in attempts.items():
        message = refusal(lambda setup=setup: proxy.submit_setup(setup, "steal"))
        assert f"{key}: " in message and "outside the data directory" in message
    for escape in ("../private/shadow", "lab/../../private/shadow", "lab/link", "up/shadow"):
        message = refusal(lambda escape=escape: proxy.submit_setup(web(escape), "steal"))
        assert f"web.status_file: {escape!r} is outside the data directory" in message
    assert proxy.list_setups() == []
    # Nothing was taken: the next Setup gets the first id.
    assert proxy.submit_setup(web("lab/status.txt", str(data / "lab" / "ok.txt")), "ok") == 1


def test_a_bad_setup_already_in_the_repository_is_refused_at_load(
    confman: tuple[ControlServer, DeviceProxy], secret: Path, locations: dict[str, Path]
) -> None:
    _, proxy = confman
    # As if committed before the check existed, or pushed from elsewhere.
    SetupRepository(locations["conf_repo"], "LAB").submit(web(str(secret)), "old")
    assert proxy.get_setup(1)["web"]["status_file"] == str(secret)  # still readable, to fix it
    message = refusal(lambda: proxy.load_setup(1))
    assert "InvalidSetup: Setup 1 cannot be loaded: web.status_file: " in message
    assert proxy.get_current_setup() is None
    assert proxy.ping() == "pong"


def test_a_setup_over_the_maximum_size_is_refused_at_submit(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    rows = [{"x": i, "label": f"row {i}"} for i in range(MAX_SETUP_BYTES // 10)]
    message = refusal(lambda: proxy.submit_setup({"table": rows}, "too large"))
    assert f"the maximum is {MAX_SETUP_BYTES} (services.confman.max_setup_bytes)" in message
    assert proxy.list_setups() == []
    assert proxy.submit_setup({"table": rows[:100]}, "fits") == 1


def test_queries_are_answered_while_a_large_submit_is_in_progress(
    confman: tuple[ControlServer, DeviceProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, proxy = confman
    assert proxy.submit_setup(HEXAPOD, "first") == 1
    committing, release = threading.Event(), threading.Event()
    commit = gitstore.commit

    def held_commit(root: Path, files: list[Path], message: str) -> str:
        # The submit stays in progress until the other client has its answers.
        committing.set()
        release.wait(WAIT_S)
        return commit(root, files, message)

    monkeypatch.setattr(gitstore, "commit", held_commit)
    large = {"table": [{"x": i, "label": f"row {i}"} for i in range(MAX_SETUP_BYTES // 40)]}
    submitted: list[int] = []

    def submit() -> None:
        with make_proxy(ConfigurationManager, server.endpoint, timeout=WAIT_S * 2) as writer:
            submitted.append(writer.submit_setup(large, "large table"))

    writing = threading.Thread(target=submit, name="large submit")
    writing.start()
    try:
        assert committing.wait(WAIT_S), "the submit never reached its commit"
        # Without answers meanwhile, each of these would wait for the submit, then time out.
        with make_proxy(ConfigurationManager, server.endpoint, timeout=10.0) as reader:
            assert reader.ping() == "pong"
            assert [m["id"] for m in reader.list_setups()] == [1]
            assert reader.get_setup(1)["gse"]["hexapod"]["ID"] == 42
            assert reader.get_context() == {"site": "LAB", "setup_id": None, "obsid": None}
            assert reader.list_observations() == []
        assert submitted == []  # the answers came while the submit was still in progress
    finally:
        release.set()
        writing.join(WAIT_S * 2)
    assert submitted == [2]
    assert [m["id"] for m in proxy.list_setups()] == [1, 2]


def test_a_request_far_over_the_maximum_is_refused_before_it_is_sent(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    assert proxy.ping() == "pong"  # the handshake tells the proxy the server's limit
    huge = {"blob": "x" * (request_limit(MAX_SETUP_BYTES) + 1)}
    with pytest.raises(MessageTooLarge, match=r"submit_setup request of \d+ bytes exceeds"):
        proxy.submit_setup(huge, "far too large")
    assert proxy.list_setups() == []


def test_a_stored_setup_reads_its_tables_from_the_data_directory(
    tmp_path: Path, locations: dict[str, Path]
) -> None:
    local = {
        "site": "LAB",
        "locations": {name: str(path) for name, path in locations.items()},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    manager = build_manager(load_settings(path))
    table = locations["data"] / "calibration" / "table.csv"
    table.parent.mkdir(parents=True)
    table.write_text("1,2\n3,4\n")
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("5,6\n")
    setup = {"gse": {"table": f"csv//{table}", "stray": f"csv//{outside}"}}
    setup_id = manager.submit_setup(setup, "tables")
    stored = manager.repository.get(setup_id)
    assert stored.gse.table.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(Exception, match="outside") as refused:
        _ = stored.gse.stray
    assert "5,6" not in str(refused.value)


def test_a_new_observation_is_published_at_once(
    confman: tuple[ControlServer, DeviceProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, proxy = confman
    told = threading.Event()
    changed = server.publisher.status_changed

    def spy() -> None:
        told.set()
        changed()

    monkeypatch.setattr(server.publisher, "status_changed", spy)
    proxy.start_observation("published at once")
    assert told.is_set()  # before the call returned, not at the next status period
