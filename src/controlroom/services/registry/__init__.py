"""The registry: which control server answers under which name, and whether it is alive.

* :mod:`.store` -- the entries (name → endpoints, metadata, last heartbeat)
  and their expiry after a TTL without heartbeat; no I/O;
* :mod:`.server` -- :class:`~.server.Registry`, served as the ``registry``
  control server (``python -m controlroom.processes.service registry``); it
  sends ``server_up`` and ``server_down`` to its listeners.

Servers register themselves with :func:`controlroom.rpc.registration.attach_registration`;
clients find them with :func:`controlroom.rpc.resolve.resolve`. Every error
is a :class:`~.errors.RegistryError`.
"""
