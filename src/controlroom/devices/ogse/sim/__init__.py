"""The simulated OGSE controller: lamp and power-meter physics, state, command set, TCP server."""
