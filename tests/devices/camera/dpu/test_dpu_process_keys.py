"""The DPU processor with CURVE keys: its sockets are secured, its SpaceWire link is not.

The link stands in for the cable to the FEE, which knows no CURVE: a processor
that secured every socket of its process, link included, would never hear the
FEE. Its control endpoint answers only its control server (the lab's own key):
roles are checked there, and a user's key, even a listed one, would bypass them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
import zmq
from dpu_process import SEED, SPEED, WAIT_S, fee_process, processor_process

from controlroom.devices.camera.dpu.client import ProcessorClient, RemoteDpuError
from controlroom.devices.camera.dpu.errors import ProcessorTimeout, ProcessorUnavailable
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

REFUSED_WAIT_S = 1.0  # a client without a key never gets an answer: this bounds the wait


def test_a_keyed_processor_hears_the_plain_fee_link_and_answers_only_the_lab_key(
    tmp_path: Path, keys_folder: Path, client_context: Callable[..., zmq.Context[Any]]
) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"security": {"keys": str(keys_folder)}}))
    fee = fee_process("tcp://127.0.0.1:0", tmp_path / "fee.log", speed=SPEED, seed=SEED)
    keyed = ("--settings", str(settings))
    with (
        fee as (_, link),
        processor_process(link, tmp_path / "frames", tmp_path / "dpu.log", options=keyed) as dpu,
    ):
        with ProcessorClient(dpu.control, context=client_context("lab")) as client:
            assert wait_until(lambda: client.status()["synced"], WAIT_S)
            assert client.status()["counters"]["cycles"] > 0
        with ProcessorClient(dpu.control, context=client_context("admin")) as user:
            with pytest.raises(RemoteDpuError, match="from its control server only") as refused:
                user.query("mode")
            assert refused.value.remote_type == "NotTheControlServer"
        plain = client_context(None)
        with ProcessorClient(dpu.control, context=plain, timeout_s=REFUSED_WAIT_S) as stranger:
            # Never an answer: it times out, or (once the handshake failed) its socket has
            # no peer to queue the request for, which the client reports as unavailable.
            with pytest.raises((ProcessorTimeout, ProcessorUnavailable)):
                stranger.status()
