"""Programs the multi-host tests run on a client host, as ``python -c PROGRAM ARGS``.

The test process lives in no host's network namespace, so whatever talks to
the lab from a host is a child process there. Each program prints one JSON
document on stdout, or exits non-zero saying what it did not get.
"""

from __future__ import annotations

# Run on the client host: find the device through the registry named in the
# Settings (never the Settings' own endpoint: it names port 0), call one command.
CALL_BY_NAME = """
import json, sys
import zmq
from controlroom.config.settings import load_settings
from controlroom.rpc import curve
from controlroom.rpc.resolve import lookup, proxy_for, registry_endpoint_of
from controlroom.testing.waiting import wait_until

name, command, within = sys.argv[1], sys.argv[2], float(sys.argv[3])
settings = load_settings()
curve.secure_from_settings(zmq.Context.instance(), settings, serving=False)
registry = registry_endpoint_of(settings)
if not wait_until(lambda: lookup(name, registry, timeout_s=1.0), within, every_s=0.1):
    sys.exit(f"{name} did not register at {registry} within {within} s")
with proxy_for(name, registry_endpoint=registry, timeout=5.0) as proxy:
    value = proxy.request(command, ())
print(json.dumps({"entry": lookup(name, registry), "value": value}))
"""


# Run on the client host: log in to the panel (trusting its own certificate only)
# and print {device: up} as its Devices page gets it.
PANEL_DEVICES = """
import http.cookiejar, json, ssl, sys, urllib.request
url, cafile, user, password = sys.argv[1:5]
tls = ssl.create_default_context(cafile=cafile)
browser = urllib.request.build_opener(
    urllib.request.HTTPSHandler(context=tls),
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
)
credentials = json.dumps({"username": user, "password": password}).encode()
login = urllib.request.Request(
    url + "api/login", data=credentials, headers={"Content-Type": "application/json"}
)
browser.open(login, timeout=10).close()
with browser.open(url + "api/device", timeout=10) as reply:
    print(json.dumps({d["name"]: d["up"] for d in json.load(reply)}))
"""


# Run on c: ping each server {name: endpoint} at once, with CURVE as the client key
# IDENTITY of keys folder FOLDER ("" for both: no CURVE); print {name: [outcome, message]}.
PING_ALL = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import zmq
from controlroom.rpc import Proxy, RpcError, curve
from controlroom.rpc.keyring import Keyring

targets, folder, identity = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4])
if folder:
    curve.secure(zmq.Context.instance(), Keyring.load(Path(folder), identity, serving=False))

def ping(name):
    with Proxy(targets[name], name=name, timeout=timeout) as proxy:
        try:
            return ["answered", proxy.ping()]
        except RpcError as exc:
            return [type(exc).__name__, str(exc)]

with ThreadPoolExecutor(len(targets)) as pool:
    print(json.dumps(dict(zip(targets, pool.map(ping, targets)))))
"""


# Run on c with the Settings' keys as $CONTROLROOM_IDENTITY: each [server, endpoint,
# command, args] of argv[1] once; print a list of [outcome, message].
CALL_EACH = """
import json, sys
import zmq
from controlroom.config.settings import load_settings
from controlroom.rpc import Proxy, RemoteError, RpcError, curve

curve.secure_from_settings(zmq.Context.instance(), load_settings(), serving=False)
seen = []
for server, endpoint, command, args in json.loads(sys.argv[1]):
    with Proxy(endpoint, name=server, timeout=10.0) as proxy:
        try:
            seen.append(["answered", repr(proxy.request(command, args))])
        except RemoteError as exc:
            seen.append([exc.info.type, str(exc)])
        except RpcError as exc:
            seen.append([type(exc).__name__, str(exc)])
print(json.dumps(seen))
"""


# Run on c: send TOKEN, then each line of argv[4:], to the pipe server; print the replies.
PIPE_SESSION = """
import json, socket, sys
host, port, token, lines = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
answers = []
with socket.create_connection((host, port), timeout=20) as raw:
    stream = raw.makefile("rw")
    for line in [f"TOKEN {token}", *lines]:
        stream.write(line + "\\n")
        stream.flush()
        answers.append(stream.readline().strip())
print(json.dumps(answers))
"""


# Run on c as broker user argv[3]: wait until the bridge publishes anything of the
# server, publish one command, print its result {server, command, ok, value|error}.
MQTT_COMMAND = """
import json, sys, threading
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

host, port, user, password, base, server, command, payload = sys.argv[1:9]
result_topic = f"{base}/result/{user}/{server}/{command}"
seen, answered, result = threading.Event(), threading.Event(), {}

def on_connect(client, userdata, flags, reason, properties):
    client.subscribe([(f"{base}/{server}/#", 1), (result_topic, 1)])

def on_message(client, userdata, message):
    if message.topic == result_topic:
        result.update(json.loads(message.payload))
        answered.set()
    else:
        seen.set()

client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-on-c")
client.username_pw_set(user, password)
client.on_connect, client.on_message = on_connect, on_message
client.connect(host, int(port))
client.loop_start()
try:
    if not seen.wait(20.0):
        sys.exit(f"the bridge published nothing of {server} under {base} within 20 s")
    client.publish(f"{base}/set/{user}/{server}/{command}", payload, qos=1)
    if not answered.wait(20.0):
        sys.exit(f"no result on {result_topic} within 20 s")
finally:
    client.loop_stop()
    client.disconnect()
print(json.dumps(result))
"""
