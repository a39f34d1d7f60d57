"""Every core service's ``run``, ``start`` and ``stop``, made from its definition."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from controlroom.processes.service import CORE_SERVICES

Cli = Callable[..., Result]


@pytest.mark.parametrize("name", list(CORE_SERVICES))
def test_every_core_service_group_runs_starts_and_stops(cli: Cli, name: str) -> None:
    group = CORE_SERVICES[name].group
    for command in ("run", "start", "stop"):
        shown = cli(group, command, "--help")
        assert shown.exit_code == 0, shown.stderr
    assert "--endpoint" in cli(group, "run", "--help").stdout
    assert "--timeout" in cli(group, "start", "--help").stdout


@pytest.mark.parametrize(
    ("group", "command", "option"),
    [
        ("registry", "run", "--ttl"),
        ("logs", "run", "--records-endpoint"),
        ("scheduler", "run", "--confman"),
        ("scenarios", "run", "--confman"),
        ("procman", "run", "--start-all"),
        ("procman", "start", "--start-all"),
    ],
)
def test_a_service_takes_the_options_its_definition_declares(
    cli: Cli, group: str, command: str, option: str
) -> None:
    assert option in cli(group, command, "--help").stdout


def test_an_option_is_checked_as_declared(cli: Cli) -> None:
    refused = cli("registry", "run", "--ttl", "0")
    assert refused.exit_code != 0
    assert "--ttl" in refused.stderr
