"""The MQTT bridge: one broker connection, the follower, the availability and the command desk.

:class:`MqttBridge` connects to the broker with a last will (``offline``,
retained, on ``<prefix>/<site>/bridge/availability``) and, on every
(re)connection, says ``online``, subscribes (Home Assistant's status topic;
the command topics only when it logged in with a username) and sends again
what the broker may have lost: availability, latest values, discovery
configs. paho's network thread reconnects by itself; values published while
it is away are not queued (the next change or the reconnection brings them).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from controlroom.bridges.mqtt.announce import Announcer
from controlroom.bridges.mqtt.availability import Availability
from controlroom.bridges.mqtt.commands import CommandDesk
from controlroom.bridges.mqtt.config import MqttConfig
from controlroom.bridges.mqtt.errors import MqttError
from controlroom.bridges.mqtt.relay import StateRelay
from controlroom.bridges.mqtt.targets import Targets
from controlroom.bridges.mqtt.topics import OFFLINE, ONLINE
from controlroom.bridges.mqtt.units import Units
from controlroom.rpc.follow import Subscriber

log = logging.getLogger(__name__)

GOODBYE_TIMEOUT_S = 2.0
HA_ONLINE = b"online"
FOLLOWER_RCVHWM = 100_000  # a burst is kept in ZeroMQ rather than lost


class MqttBridge:
    """Publishes what the servers publish, and takes allowed commands, over MQTT."""

    def __init__(self, config: MqttConfig, *, units: Units | None = None) -> None:
        self.config = config
        self.topics = config.topics
        self.unsent = 0  # messages dropped because the broker was away
        self.subscriptions: list[str] = []  # known before start() returns: see _wanted_topics
        self.subscribed = threading.Event()  # set when the broker acknowledged them
        self._connected = threading.Event()
        self._last_error = "no answer yet"
        self._pending_subscribes: set[int] = set()
        mqtt = config.mqtt
        self.announcer = (
            Announcer(self.topics, units or Units({}, {}), self.publish) if mqtt.discovery else None
        )
        self.relay = StateRelay(config, self.publish, self.announcer)
        # The relay's tick runs at every wake-up, so held-back values go out even when idle.
        self.follower = Subscriber(
            name="mqtt-follower", rcvhwm=FOLLOWER_RCVHWM, on_wake=self.relay.tick
        ).on("", lambda p: self.relay.take(p.kind, p.subject, p.time, p.values))
        self.watcher = Availability(
            Targets(config, timeout_s=mqtt.ping_timeout_s),
            self.follower,
            self.topics,
            self.publish,
            every_s=mqtt.refresh_s,
            ping_timeout_s=mqtt.ping_timeout_s,
        )
        self.desk = (
            CommandDesk(config, self.publish, self.watcher.endpoint_of)
            if config.commands_enabled
            else None
        )
        self.subscriptions = self._wanted_topics()
        self.client = self._client()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, timeout_s: float | None = None) -> Self:
        """Connect and start following; :class:`MqttError` if the broker is not there in time."""
        timeout_s = self.config.mqtt.connect_timeout_s if timeout_s is None else timeout_s
        mqtt = self.config.mqtt
        try:
            self.client.connect_async(mqtt.host, mqtt.port, keepalive=mqtt.keepalive_s)
        except (OSError, ValueError) as exc:
            raise MqttError(f"cannot connect to the broker at {self.config.broker}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout_s):
            self.client.loop_stop()
            raise MqttError(
                f"no connection to the MQTT broker at {self.config.broker} within "
                f"{timeout_s:g} s: {self._last_error}"
            )
        self.follower.start()
        self.watcher.start()
        return self

    def stop(self) -> None:
        """Stop following, say ``offline`` (bridge and servers) and disconnect; idempotent."""
        self.watcher.stop()
        self.follower.stop()
        if self.desk is not None:
            self.desk.close()
        if self._connected.is_set():
            for server in self.watcher.availability():
                self.publish(self.topics.availability(server), OFFLINE, 1, True)
            info = self.client.publish(self.topics.bridge_availability, OFFLINE, 1, retain=True)
            try:
                info.wait_for_publish(GOODBYE_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                log.warning("the broker did not take our goodbye: %s", exc)
            self._connected.clear()  # a disconnection we asked for is not a loss
            self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        """Publish now, or drop (and count) while the broker is away; any thread."""
        if not self._connected.is_set():
            self.unsent += 1
            return
        info = self.client.publish(topic, payload, qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.unsent += 1

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _client(self) -> paho.Client:
        mqtt = self.config.mqtt
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.config.client_id)
        if mqtt.username:
            client.username_pw_set(mqtt.username, mqtt.password or None)
        if mqtt.tls:
            try:
                client.tls_set(ca_certs=mqtt.ca_file or None)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise MqttError(f"bridges.mqtt: cannot set up TLS: {exc}") from exc
        client.will_set(self.topics.bridge_availability, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._last_error = f"the broker refused us: {reason}"
            log.error("MQTT broker %s: %s", self.config.broker, self._last_error)
            return
        log.info("connected to the MQTT broker at %s", self.config.broker)
        self._connected.set()
        self.publish(self.topics.bridge_availability, ONLINE, 1, True)
        self._subscribe(client)
        self.watcher.republish()
        if self.announcer is not None:
            self.announcer.announce_all()
        self.relay.republish()

    def _wanted_topics(self) -> list[str]:
        # Decided by the configuration alone, so it is fixed before the first connection
        # (start() returns as soon as the broker accepted us, maybe before on_connect ends).
        wanted = []
        if self.announcer is not None:
            wanted.append(self.topics.homeassistant_status)
        if self.desk is not None:  # only with credentials: see the module doc
            wanted.append(self.topics.command_filter)
        return wanted

    def _subscribe(self, client: paho.Client) -> None:
        wanted = self.subscriptions
        if not wanted:
            self.subscribed.set()
            return
        result, mid = client.subscribe([(topic, 1) for topic in wanted])
        if result == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subscribes.add(mid)

    def _on_subscribe(self, _c: paho.Client, _u: Any, mid: int, reasons: Any, _p: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("the MQTT broker refused our subscriptions: %s", ", ".join(refused))
        self._pending_subscribes.discard(mid)
        if not self._pending_subscribes:
            self.subscribed.set()

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self._last_error = "connection failed (is the broker running and reachable?)"
        log.debug("MQTT broker %s: %s", self.config.broker, self._last_error)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._connected.is_set():
            log.warning("lost the MQTT broker at %s: %s", self.config.broker, reason)
        self._connected.clear()
        self.subscribed.clear()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        try:
            if message.topic == self.topics.homeassistant_status:
                if self.announcer is not None and message.payload.strip() == HA_ONLINE:
                    count = self.announcer.announce_all()
                    log.info("Home Assistant is online: sent %d discovery configs", count)
            elif self.desk is not None:
                self.desk.handle(message.topic, message.payload, retained=bool(message.retain))
        except Exception:  # a message must never take the network thread down
            log.exception("MQTT bridge: cannot handle a message on %s", message.topic)
