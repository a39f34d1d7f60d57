"""The ``ip`` command for network namespaces: run it, list, delete, clean up after a crash.

The plumbing under :mod:`controlroom.testing.netns`. Its namespaces are named
``cr<pid>-<lab>-<host>`` (:data:`OURS`), so that a run killed before it could
delete its own leaves names that the next run recognises: those whose PID is
gone. A namespace of anyone else, or of a run still going, is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
from typing import Any

import psutil

from controlroom.rpc.child import STOP_GRACE_S, stop_process

OURS = re.compile(r"^cr(?P<pid>\d+)-\d+-[a-z][a-z0-9]*$")  # cr<pid>-<lab>-<host>
IP_TIMEOUT_S = 30.0


class NetnsError(RuntimeError):
    """A namespace, link or address could not be made or removed; the message says which."""


def netns_refused() -> str | None:
    """Why this process cannot build network namespaces (None when it can try)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


def ip_command() -> str:
    """The full path of ``ip``."""
    found = shutil.which("ip")
    if found is None:
        raise NetnsError("the `ip` command (iproute2) is not installed")
    return found


def ip(*args: str) -> str:
    """Run ``ip ARGS``; its stdout, or :class:`NetnsError` with what it said."""
    try:
        done = subprocess.run(
            [ip_command(), *args], check=True, capture_output=True, text=True, timeout=IP_TIMEOUT_S
        )
    except subprocess.CalledProcessError as exc:
        said = exc.stderr.strip() or f"exit code {exc.returncode}"
        raise NetnsError(f"ip {shlex.join(args)}: {said}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {shlex.join(args)}: {exc}") from None
    return done.stdout


def namespaces() -> list[str]:
    """The names of every network namespace ``ip netns`` knows."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def remove_namespace(name: str, grace: float = STOP_GRACE_S) -> None:
    """Stop every process inside namespace ``name`` (SIGTERM, then SIGKILL), then delete it."""
    for pid in ip("netns", "pids", name).split():
        with contextlib.suppress(psutil.Error):
            stop_process(psutil.Process(int(pid)), grace)
    ip("netns", "delete", name)


def remove_leftovers() -> list[str]:
    """Delete the namespaces of runs that ended without deleting theirs; their names.

    Only names of our pattern whose PID is gone: a run in progress keeps its own.
    """
    removed = []
    for name in namespaces():
        match = OURS.match(name)
        if match and not psutil.pid_exists(int(match["pid"])):
            try:
                remove_namespace(name)
            except NetnsError:
                if name in namespaces():
                    raise
                continue  # another run removed it meanwhile
            removed.append(name)
    return removed


def link_state(namespace: str, device: str) -> dict[str, Any]:
    """``ip -d -j link show`` of one device: operstate, bridge port state..."""
    found = json.loads(ip("-n", namespace, "-d", "-j", "link", "show", "dev", device))
    return dict(found[0]) if found else {}
