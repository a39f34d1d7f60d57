"""The simulated PUNA hexapod: Stewart platform kinematics, PMAC controller, TCP server."""
