"""The simulated Model 336: cryostat physics, sensor curves, control loops, commands, TCP server."""
