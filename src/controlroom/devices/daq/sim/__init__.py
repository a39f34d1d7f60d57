"""The simulated DAQ6510: thermal model of the lab, sensors, scans, buffers, SCPI, TCP server."""
