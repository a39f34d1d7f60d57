"""Fixtures for tests that run with CURVE keys: a keys folder, secured contexts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from controlroom.rpc import curve
from controlroom.rpc.keyring import Keyring, init_keys


@pytest.fixture
def keys_folder(tmp_path: Path) -> Path:
    """A facility keys folder made by ``init_keys``: lab, admin, operator, viewer."""
    folder = tmp_path / "keys"
    init_keys(folder)
    return folder


@pytest.fixture
def secured_instance(keys_folder: Path) -> Iterator[Keyring]:
    """The process-wide context (``zmq.Context.instance()``) secured with the lab key."""
    keyring = Keyring.load(keys_folder, "lab")
    context: zmq.Context[Any] = zmq.Context.instance()
    curve.secure(context, keyring)
    yield keyring
    curve.unsecure(context)


@pytest.fixture
def client_context(keys_folder: Path) -> Iterator[Callable[..., zmq.Context[Any]]]:
    """``make(identity)``: a fresh context whose sockets use that client key (None: no CURVE)."""
    made: list[zmq.Context[Any]] = []

    def make(identity: str | None) -> zmq.Context[Any]:
        context: zmq.Context[Any] = zmq.Context()
        made.append(context)
        if identity is not None:
            curve.secure(context, Keyring.load(keys_folder, identity, serving=False))
        return context

    yield make
    for context in made:
        curve.unsecure(context)
        context.destroy(linger=0)
