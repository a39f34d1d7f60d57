"""The camera page's HTTP side in process, against a real FEE simulator and DPU control server:
the page and its nav entry, the PNG route, a command by an operator, refused for a viewer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, check_device_page, device_panel, login

from controlroom.testing.waiting import wait_until

_CAMERA_TESTS = Path(__file__).resolve().parents[1] / "devices" / "camera"
if str(_CAMERA_TESTS) not in sys.path:
    sys.path.append(str(_CAMERA_TESTS))  # camera_views: the served DPU and a PNG reader
from camera_views import (  # noqa: E402
    MAX_SIZE,
    WAIT_S,
    Camera,
    camera_server,
    expected_gray,
    read_png,
    take_images,
)

pytestmark = pytest.mark.integration
COMMAND = "/api/device/dpu/command"


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    with camera_server(tmp_path_factory.mktemp("camera")) as served:
        yield served


@pytest.fixture
def panel(make_client: MakeClient, camera: Camera) -> TestClient:
    return device_panel(make_client, "dpu", camera.server, WAIT_S)


def test_the_page_needs_a_session_and_is_in_the_nav_with_a_dpu(
    panel: TestClient, client: TestClient
) -> None:
    check_device_page(panel, client, "camera", "Camera")


def test_meta_says_who_may_command(panel: TestClient) -> None:
    login(panel, "vera")
    meta = panel.get("/api/camera").json()
    assert meta["device"] == "dpu" and meta["up"] is True and meta["can_command"] is False
    assert "STANDBY" in meta["modes"] and meta["sides"] == ["E", "F"]
    login(panel, "otto")
    assert panel.get("/api/camera").json()["can_command"] is True
    assert panel.get("/api/camera", params={"device": "nope"}).status_code == 404


def test_the_png_is_the_latest_stored_image(panel: TestClient, camera: Camera) -> None:
    take_images(camera, ccd=3)
    login(panel, "vera")
    query = {"ccd": 3, "side": "E", "max_size": MAX_SIZE, "stretch": "percentile"}
    image = panel.get("/api/camera/image.png", params=query)
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-binning"] == "4"
    header, gray = read_png(image.content)
    assert (header["width"], header["height"]) == (25, 16)
    frame = int(image.headers["x-frame-counter"])
    assert (gray == expected_gray(camera.root, frame, 3, "E", MAX_SIZE, "percentile")).all()
    missing = panel.get("/api/camera/image.png", params={**query, "side": "F"})
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("dpu: no stored image of CCD 3 side F yet")
    assert panel.get("/api/camera/image.png", params={**query, "ccd": 5}).status_code == 422
    assert panel.get("/api/camera/image.png", params={**query, "stretch": "log"}).status_code == 422


def test_an_operator_sets_the_mode_a_viewer_is_refused(panel: TestClient, camera: Camera) -> None:
    csrf = login(panel, "vera")
    body = {"command": "set_mode", "args": {"mode": "STANDBY"}}
    refused = panel.post(COMMAND, json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert "needs operator" in refused.json()["detail"]
    csrf = login(panel, "otto")
    sent = panel.post(COMMAND, json=body, headers={"X-CSRF-Token": csrf})
    assert sent.status_code == 200, sent.text
    outcome = sent.json()
    assert outcome["ok"] is True, outcome
    assert outcome["result"]["register"] == "ccd_mode_config" and outcome["result"]["status"] == 0
    with camera.proxy() as proxy:
        assert wait_until(lambda: proxy.get_mode() == "STANDBY", WAIT_S)
    wrong = panel.post(
        COMMAND,
        json={"command": "set_mode", "args": {"mode": "NAP"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 200 and wrong.json()["ok"] is False
    assert wrong.json()["error"]["type"] == "ArgumentError"
