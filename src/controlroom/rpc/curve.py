"""CURVE on every socket: one place that makes controlroom's ZeroMQ sockets.

A process secures a ZeroMQ context once (:func:`secure`, or
:func:`secure_from_settings` at program start); from then on every socket
controlroom makes from that context is encrypted and authenticated:

* a socket that binds (ROUTER, PUB, the log PULL) is a CURVE *server* with the
  facility's server key, and a ZAP handler on the context admits only the
  client keys listed in the keys folder;
* a socket that connects (DEALER, SUB, the log PUSH) is a CURVE *client* with
  this process's identity key.

A context that was never secured makes plain sockets, which
:func:`controlroom.rpc.endpoints.bind` allows on loopback only. The server
asks :func:`callers` who each message is from: ZAP's user id is the client's
public key, looked up at every message so that a key revoked by
:func:`reload` (SIGHUP) loses its rights at once, even on a connection it
opened before. New connections use the reloaded keys; open ones keep theirs.
"""

from __future__ import annotations

import logging
import signal
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

from controlroom.rpc.access import CallerResolver, KeyGrant, check_role
from controlroom.rpc.errors import InsecureServer, RpcError
from controlroom.rpc.keyring import Keyring, keyring_from_settings

log = logging.getLogger(__name__)

ZAP_DOMAIN = "controlroom"
_MAX_CACHED = 4096  # grants remembered per load (a keyring holds at most 1000 keys)


@dataclass
class Security:
    """What one context's sockets use: the keyring (None: no CURVE) and the anonymous role."""

    keyring: Keyring | None
    anonymous_role: str = "admin"
    authenticator: ThreadAuthenticator | None = None
    refused_keys: int = 0  # connections ZAP turned away
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (the keyring they were read from, user id -> grant): swapped whole, never torn.
    _grants: tuple[Keyring | None, dict[str, KeyGrant]] = (None, {})

    def grant(self, user_id: str) -> KeyGrant | None:
        """What the key ``user_id`` (z85) may do, as of the last (re)load; cached per load."""
        keyring, grants = self.keyring, self._grants
        if grants[0] is not keyring:  # reloaded since: start a new cache for the new keys
            grants = self._grants = (keyring, {})
        found = grants[1].get(user_id)
        if found is None and keyring is not None:
            client = keyring.by_public(user_id.encode("ascii", "replace"))
            if client is None:
                return None
            found = KeyGrant(client.name, client.role, client.devices, client.delegate)
            if len(grants[1]) < _MAX_CACHED:
                grants[1][user_id] = found
        return found

    def admits(self, domain: str, key: bytes) -> bool:
        """ZAP's question: is this client key (z85) listed now?"""
        keyring = self.keyring
        if keyring is not None and keyring.by_public(key) is not None:
            return True
        with self.lock:
            self.refused_keys += 1
        log.warning("refused a connection with an unlisted client key %s...", key[:8].decode())
        return False

    # The credentials-provider protocol of zmq.auth.
    def callback(self, domain: str, key: bytes) -> bool:
        return self.admits(domain, key)


_contexts: weakref.WeakKeyDictionary[zmq.Context[Any], Security] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def secure(
    context: zmq.Context[Any], keyring: Keyring | None, *, anonymous_role: str = "admin"
) -> Security:
    """Make every controlroom socket of ``context`` use ``keyring`` (None: no CURVE)."""
    security = Security(keyring, check_role(anonymous_role))
    with _lock:
        previous = _contexts.get(context)
        if previous is not None and previous.authenticator is not None:
            previous.authenticator.stop()
        if keyring is not None:
            security.authenticator = _start_zap(context, security)
        _contexts[context] = security
    return security


def secure_from_settings(
    context: zmq.Context[Any], settings: Mapping[str, Any], *, serving: bool = True
) -> Security:
    """:func:`secure` with the keys and anonymous role of the Settings' ``security``.

    ``serving``: this process binds sockets, so the server secret key must be
    here; a client (the CLI on a workstation) does without it.
    """
    section = settings.get("security") or {}
    role = str(section.get("anonymous_role") or "admin")
    keyring = keyring_from_settings(settings, serving=serving)
    return secure(context, keyring, anonymous_role=role)


def unsecure(context: zmq.Context[Any]) -> None:
    """Forget ``context``'s security and stop its ZAP handler (tests, shutdown)."""
    with _lock:
        security = _contexts.pop(context, None)
    if security is not None and security.authenticator is not None:
        security.authenticator.stop()


def security_of(context: zmq.Context[Any]) -> Security | None:
    return _contexts.get(context)


def reload(context: zmq.Context[Any]) -> Keyring | None:
    """Read the keys folder again: listed keys, roles, this process's own pair."""
    security = _contexts.get(context)
    if security is None or security.keyring is None:
        return None
    old = security.keyring
    fresh = Keyring.load(old.folder, old.identity, serving=old.server_secret is not None)
    security.keyring = fresh  # one reference swap: readers see the old or the new
    log.info("reloaded keys from %s: %d client keys", fresh.folder, len(fresh.clients))
    return fresh


def secure_process(settings: Mapping[str, Any], *, serving: bool = True) -> None:
    """CURVE for every socket of this process, as the Settings say; SIGHUP reloads the keys."""
    context: zmq.Context[Any] = zmq.Context.instance()
    secure_from_settings(context, settings, serving=serving)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: _reload_keeping_old(context))


def _reload_keeping_old(context: zmq.Context[Any]) -> None:
    try:
        reload(context)
    except RpcError as exc:  # a broken keys folder: keep serving with the keys we have
        log.error("keys not reloaded, the old ones stay: %s", exc)


def callers(context: zmq.Context[Any]) -> CallerResolver:
    """How a server on ``context`` tells who sent each message."""
    security = _contexts.get(context)
    if security is None:
        return CallerResolver()
    keys = security.grant if security.keyring is not None else None
    return CallerResolver(security.anonymous_role, keys)


def server_socket(context: zmq.Context[Any], kind: int) -> zmq.Socket[bytes]:
    """A socket that binds: a CURVE server when the context is secured."""
    socket: zmq.Socket[bytes] = context.socket(kind)
    security = _contexts.get(context)
    if security is None or security.keyring is None:
        return socket
    keyring = security.keyring
    if keyring.server_secret is None:
        socket.close(linger=0)
        raise InsecureServer(
            f"this host has no server secret key ({keyring.folder}/server.key_secret): "
            "copy it from the host where `controlroom keys init` ran"
        )
    socket.setsockopt(zmq.CURVE_SERVER, 1)
    socket.setsockopt(zmq.CURVE_SECRETKEY, keyring.server_secret)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, keyring.server_public)
    socket.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN.encode())
    return socket


def client_socket(context: zmq.Context[Any], kind: int) -> zmq.Socket[bytes]:
    """A socket that connects: a CURVE client with this process's key when secured."""
    socket: zmq.Socket[bytes] = context.socket(kind)
    security = _contexts.get(context)
    if security is None or security.keyring is None:
        return socket
    keyring = security.keyring
    socket.setsockopt(zmq.CURVE_SERVERKEY, keyring.server_public)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, keyring.client_public)
    socket.setsockopt(zmq.CURVE_SECRETKEY, keyring.client_secret)
    return socket


def is_secured(socket: zmq.Socket[Any]) -> bool:
    return int(socket.getsockopt(zmq.MECHANISM)) == int(zmq.CURVE)


def _start_zap(context: zmq.Context[Any], security: Security) -> ThreadAuthenticator:
    authenticator = ThreadAuthenticator(context, log=logging.getLogger(f"{__name__}.zap"))
    authenticator.start()
    authenticator.configure_curve_callback(domain=ZAP_DOMAIN, credentials_provider=security)
    return authenticator
