"""``controlroom mqtt``: the MQTT bridge (status, HK, limit events, Home Assistant discovery).

``run`` connects to the broker of ``bridges.mqtt`` and serves in the
foreground until Ctrl-C or SIGTERM; it prints one line
``READY {"name": "mqtt", "broker": "host:port"}`` once connected, like the
ready lines of the other services: the process of
:func:`controlroom.processes.bridge.serve_mqtt`. It runs whatever
``bridges.mqtt.enabled`` says (that key tells ``controlroom up`` whether to
start it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from controlroom.cli.bridges import add_bridge_run

BrokerHost = Annotated[
    str | None, typer.Option(help="The broker's host (default: bridges.mqtt.host).")
]
BrokerPort = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="The broker's port (default: bridges.mqtt.port)."),
]
RUN_HELP = """Run the MQTT bridge in the foreground until Ctrl-C or SIGTERM.

Publishes every server's status and HK values (retained) under
<prefix>/<site>/<server>/<parameter>, limit events on .../events and Home
Assistant discovery configs. Commands on
<prefix>/<site>/set/<user>/<server>/<command> (users listed in
bridges.mqtt.users) are taken only for bridges.mqtt.allow and only with a
broker username; answers go to .../result/<user>/<server>/<command>. Prints one line
READY {"name", "broker"} (JSON) once connected.
"""

mqtt_app = typer.Typer(
    help="The MQTT bridge: values, events and Home Assistant discovery on an MQTT broker."
)
add_bridge_run(mqtt_app, "mqtt", RUN_HELP, host=BrokerHost, port=BrokerPort)
