"""A child process for the supervisor tests: a ready line, then what its options say.

Not a test module: the tests run it as ``python child_script.py [options]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before the ready line")
    parser.add_argument("--ready-after", type=Path, help="no ready line until this FIFO is written")
    parser.add_argument("--crash", action="store_true", help="exit with --code once ready")
    parser.add_argument("--crash-once", type=Path, help="crash unless this marker file exists")
    parser.add_argument("--code", type=int, default=3)
    parser.add_argument("--stderr", default="", help="a line for stderr before crashing")
    parser.add_argument("--no-ready", action="store_true", help="never print the ready line")
    parser.add_argument("--exit-early", action="store_true", help="exit before the ready line")
    parser.add_argument("--grandchild", action="store_true", help="start a sleeping grandchild")
    parser.add_argument("--ignore-term", action="store_true", help="survive SIGTERM")
    parser.add_argument("--chatty", type=int, default=0, help="stdout lines after ready")
    parser.add_argument("--simulator", action="store_true", help="READY <host> <port> form")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:0")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transport", default="")
    args = parser.parse_args()
    if args.ignore_term:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(args.delay)  # a slow start: the supervisor must wait for the line, not guess
    if args.ready_after is not None:
        args.ready_after.read_bytes()  # a FIFO: blocks until the test lets the start finish
    if args.exit_early:
        print(args.stderr or "exiting early", file=sys.stderr, flush=True)
        sys.exit(args.code)
    info = {"name": "child", "commands": _commands(args.endpoint), "argv": " ".join(sys.argv)}
    if args.grandchild:
        nap = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        info["grandchild"] = str(nap.pid)
    if not args.no_ready:
        print(_ready(args, info), flush=True)
    for number in range(args.chatty):
        print(f"chatter {number}")
    sys.stdout.flush()
    crash = args.crash or (args.crash_once is not None and not args.crash_once.exists())
    if args.crash_once is not None:
        args.crash_once.touch()
    if crash:
        print(args.stderr or "crashing", file=sys.stderr, flush=True)
        sys.exit(args.code)
    threading.Event().wait()


def _commands(endpoint: str) -> str:
    # A fake endpoint; on port 0 a made-up fixed port, as a server binding port 0 would announce.
    return endpoint[:-1] + "45678" if endpoint.endswith(":0") else endpoint


def _ready(args: argparse.Namespace, info: dict[str, str]) -> str:
    if args.simulator:
        return f"READY 127.0.0.1 {args.port or 45679}"
    return "READY " + json.dumps(info)


if __name__ == "__main__":
    main()
