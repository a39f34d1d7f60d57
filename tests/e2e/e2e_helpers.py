"""Helpers for the browser tests (imported by name: keep this file name unique).

* :func:`serving` runs a panel app with uvicorn in a thread of the test, on a
  port the OS picks, and yields its URL once uvicorn really listens;
* :func:`require_chromium` skips (or, under ``CI=true``, fails) without the
  system Chromium;
* :func:`artifacts_dir` is where screenshots go: ``$CONTROLROOM_ARTIFACTS``,
  else ``build/artifacts`` (both ignored by git).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from controlroom.web.serve import AnnouncingServer

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests")
    pytest.skip(f"{CHROMIUM} is missing (the browser tests use the system Chromium)")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("CONTROLROOM_ARTIFACTS") or ROOT / "build" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (OS-chosen port) in a thread; yields its URL."""
    announced: list[str] = []
    ready = threading.Event()

    def announce(url: str) -> None:
        announced.append(url)
        ready.set()

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = AnnouncingServer(config, announce)
    thread = threading.Thread(target=server.run, name="e2e-panel", daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the panel did not start listening")
        yield announced[0]
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
