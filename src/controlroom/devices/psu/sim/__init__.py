"""The simulated supply: loads, output model, SCPI command table and TCP server."""
