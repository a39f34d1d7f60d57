"""The simulated DAQ: thermal model of the lab, scan state, SCPI command table, TCP server."""
