"""The pipe-command server: outside programs send one plain command per line.

A LabVIEW VI, a C program or a shell script connects over TCP and sends
``Device|command arg ...``; the request goes to that device's control server
through a proxy (found by name: registry, then Settings) and the client gets
one line back, ``OK <value>`` or ``ERR <message>``. Only the commands the
Settings allow (``bridges.pipe.allow``) are served, and with a token set a
client sends ``TOKEN <token>`` first.

* :class:`PipeServer` listens and serves; :class:`PipeConfig` is its
  configuration, usually ``PipeConfig.from_settings(settings)``.
* :class:`Router` routes one request; the line format is in
  :mod:`controlroom.bridges.pipe.protocol`.
* Every error is a :class:`PipeError` (a ``BridgeError``).
"""

from controlroom.bridges.pipe.config import PipeConfig
from controlroom.bridges.pipe.errors import PipeError, RequestRefused
from controlroom.bridges.pipe.router import Router
from controlroom.bridges.pipe.server import PipeServer

__all__ = ["PipeConfig", "PipeError", "PipeServer", "RequestRefused", "Router"]
