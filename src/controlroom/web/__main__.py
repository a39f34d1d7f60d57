"""``python -m controlroom.web [--host H] [--port N]``: the panel as the process manager runs it.

The same panel as ``controlroom web run``, without importing the
command-line interface, so it is ready sooner. It reads the Settings the
usual way and prints ``READY {"name": "web", "url": ...}`` once it listens.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from controlroom.config.settings import load_settings
from controlroom.rpc import RpcError
from controlroom.rpc.curve import secure_process
from controlroom.rpc.process import READY_PREFIX
from controlroom.web import WebError, create_app
from controlroom.web.config import WebConfig
from controlroom.web.serve import serve


def announce(url: str) -> None:
    print(READY_PREFIX + json.dumps({"name": "web", "url": url}), flush=True)


def main(argv: list[str] | None = None) -> None:
    """Serve the panel until SIGINT or SIGTERM; exit 1 if it cannot start."""
    parser = argparse.ArgumentParser(description="The controlroom web panel.")
    parser.add_argument("--host", help="address to listen on (default: web.host)")
    parser.add_argument("--port", type=int, help="port (default: web.port; 0: the OS picks)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = load_settings()
    try:
        secure_process(settings, serving=False)  # the panel only connects: no server key here
        config = WebConfig.from_settings(settings)
        bind = args.host or config.host
        app = create_app(settings, bind_host=bind)
    except (WebError, RpcError) as exc:
        sys.exit(f"error: {exc}")
    port = config.port if args.port is None else args.port
    if not serve(app, bind, port, announce):
        sys.exit(f"error: the web panel could not listen on {bind}:{port}")


if __name__ == "__main__":
    main()
