"""The simulator of instruments described by a command table."""
