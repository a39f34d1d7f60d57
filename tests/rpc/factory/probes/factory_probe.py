"""Not a test module: run as ``python -m factory_probe [--exit N] [args]`` (forked or not).

Prints one ``READY {json}`` line saying how it was started, a line on
stderr, then exits with ``--exit N`` or waits for a signal.
"""

import gc
import json
import os
import signal
import sys

import factory_marker

args = sys.argv[1:]
code = None
if args[:1] == ["--exit"]:
    code, args = int(args[1]), args[2:]
facts = {
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "pgid": os.getpgid(0),
    "name": __name__,
    "args": args,
    "argv0": sys.argv[0],
    "marker_pid": factory_marker.IMPORTED_BY,
    "frozen": gc.get_freeze_count(),
    "gc_enabled": gc.isenabled(),
    "stdin": sys.stdin.read(),
    "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
}
if args[:1] == ["--sockets"]:  # socket objects left open by the factory, in this process
    import socket

    gc.unfreeze()  # what the factory made before its freeze is listed only then
    facts["open_sockets"] = [
        s.fileno() for s in gc.get_objects() if isinstance(s, socket.socket) and s.fileno() != -1
    ]
print("probe: to stderr", file=sys.stderr, flush=True)  # before READY: stopped after it
print("READY " + json.dumps(facts), flush=True)
if code is not None:
    sys.exit(code)
while True:
    signal.pause()
