"""The process factory: controlroom processes forked from a preloaded parent.

Every controlroom process imports much the same modules (pyzmq, msgpack,
the RPC layer, the device framework...), which costs each a few hundred
milliseconds of CPU and tens of megabytes of its own. The process manager
starts a factory process that has imported them once, and asks it to fork
each process instead: the child starts with the modules in place, sharing
their pages with the factory and its siblings until it writes to them.

:class:`ProcessFactory` is the manager's side; :mod:`.zygote` is the factory.
"""

from controlroom.rpc.factory.client import ForkedProcess, ProcessFactory
from controlroom.rpc.factory.messages import FactoryError

__all__ = ["FactoryError", "ForkedProcess", "ProcessFactory"]
