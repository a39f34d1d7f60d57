"""Fixtures for the tests of the test helpers: hosts as network namespaces."""

from __future__ import annotations

from netns_fixtures import network_hosts

__all__ = ["network_hosts"]
