"""The simulated Newport ESP300: command syntax and tables, axes, TCP server."""
