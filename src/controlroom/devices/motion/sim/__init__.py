"""The simulated stage controller: trapezoidal kinematics, axes, command set, TCP server."""
