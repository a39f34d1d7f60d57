"""A kit for instrument simulators: line server, SCPI engine, parameters, simulated time.

A simulator is a package of its own (``controlroom.devices.<name>.sim``): a pure
model, a state, a command table built on :mod:`.scpi` and :mod:`.params`, and a
server module subclassing :class:`.server.LineSimulator`.
"""
