"""The DPU control server with CURVE keys: it reaches its keyed processor, the processor the FEE.

The processor secures its sockets from the same local Settings file as the
server (``CONTROLROOM_LOCAL_SETTINGS``) and admits only the lab's own key: the
server's. The FEE link stays plain, as a cable is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dpu_server import WAIT_S, camera_server

from controlroom.config.settings import LOCAL_SETTINGS_ENV
from controlroom.rpc.keyring import Keyring
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


def test_a_keyed_dpu_server_commands_its_keyed_processor(
    tmp_path: Path,
    keys_folder: Path,
    secured_instance: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = tmp_path / "local-settings.yaml"
    local.write_text(yaml.safe_dump({"security": {"keys": str(keys_folder)}}))
    monkeypatch.setenv(LOCAL_SETTINGS_ENV, str(local))
    with camera_server(tmp_path) as camera:  # waits until the processor is in step with the FEE
        # A processor left plain would never answer this server's CURVE client.
        assert camera.controller.get_mode() in {"ON", "STANDBY", "FULL_IMAGE", "DUMP"}
        reply = camera.controller.clear_error_flags().result(WAIT_S)
        assert reply["status"] == 0 and reply["error"] == ""
        assert wait_until(lambda: camera.status()["frames"] > 0, WAIT_S)
