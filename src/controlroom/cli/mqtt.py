"""``controlroom mqtt``: the MQTT bridge (status, HK, limit events, Home Assistant discovery).

``run`` connects to the broker of ``bridges.mqtt`` and serves in the
foreground until Ctrl-C or SIGTERM; it prints one line
``READY {"name": "mqtt", "broker": "host:port"}`` once connected, like the
ready lines of the other services. It runs whatever ``bridges.mqtt.enabled``
says (that key tells ``controlroom up`` whether to start it).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:  # the bridge (paho-mqtt) is imported only by `mqtt run`
    from controlroom.bridges.mqtt import MqttBridge

from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.rpc.process import READY_PREFIX, ReadyThenLog

NAME = "mqtt"
mqtt_app = typer.Typer(
    help="The MQTT bridge: values, events and Home Assistant discovery on an MQTT broker."
)


@mqtt_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    host: Annotated[
        str | None, typer.Option(help="The broker's host (default: bridges.mqtt.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="The broker's port (default: bridges.mqtt.port)."),
    ] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the MQTT bridge in the foreground until Ctrl-C or SIGTERM.

    Publishes every server's status and HK values (retained) under
    <prefix>/<site>/<server>/<parameter>, limit events on .../events and Home
    Assistant discovery configs. Commands on .../<command>/set are taken only
    for bridges.mqtt.allow and only with a broker username. Prints one line
    READY {"name", "broker"} (JSON) once connected.
    """
    from controlroom.services.logs.follow import install_from_settings

    state = cli_state(ctx)
    level = logging.DEBUG if state.debug else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    from controlroom.bridges.mqtt import MqttBridge, MqttConfig, MqttError, load_units

    try:
        config = MqttConfig.from_settings(state.settings, host=host, port=port)
        bridge = MqttBridge(config, units=load_units(state.settings))
    except MqttError as exc:
        raise CliError(str(exc)) from None
    stopping = _stop_on_signals()
    central_logs = install_from_settings(state.settings, server=NAME, level=level)
    try:
        _serve(bridge, stopping, ReadyThenLog() if handoff_stdout else sys.stdout)
    finally:
        central_logs.close()


def _serve(bridge: MqttBridge, stopping: threading.Event, stream: TextIO) -> None:
    from controlroom.bridges.mqtt import MqttError

    try:
        bridge.start()
        if not bridge.config.commands_enabled:
            logging.getLogger(__name__).info(
                "no broker username in bridges.mqtt: command topics are not subscribed"
            )
        ready = {"name": NAME, "broker": bridge.config.broker}
        print(READY_PREFIX + json.dumps(ready), file=stream, flush=True)
        stopping.wait()
    except MqttError as exc:
        raise CliError(str(exc)) from None
    finally:
        bridge.stop()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so both end the bridge cleanly."""
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
    return stopping
