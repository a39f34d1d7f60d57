"""The services that run building blocks, as processes: ``python -m controlroom.cli.jobserver``.

The scheduler (and, where installed, the scenarios service) run functions of
the Setup, building blocks among them, inside observations. Services may not
import :mod:`controlroom.obs`, so the function that joins the two,
:func:`run_in_observation`, lives here; this module imports neither Typer
nor Rich, so the process manager starts these services as lean as the others::

    python -m controlroom.cli.jobserver scheduler [--endpoint E] [--pub-endpoint E]
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def run_in_observation(
    target: Callable[..., Any], kwargs: dict[str, Any], *, observation: str | None, confman: str
) -> Any:
    """Run one job: a building block as an observation, a plain function in one if asked."""
    from controlroom.obs import BuildingBlock, execute
    from controlroom.obs import observation as observing

    if isinstance(target, BuildingBlock):
        return execute(target, description=observation, confman=confman, **kwargs)
    if observation is None:
        return target(**kwargs)
    with observing(observation, confman=confman):
        return target(**kwargs)


def run_scenario(
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    observation: str | None,
    confman: str,
    rule: str,
) -> str | None:
    """Run one firing: a building block as an observation, a plain function in one if asked.

    Returns the obsid of the observation it opened (None when it opened none).
    """
    from controlroom.obs import BuildingBlock
    from controlroom.obs import observation as observing
    from controlroom.obs.task import TASK_ATTRIBUTE

    spec = getattr(target, TASK_ATTRIBUTE, None)
    arguments = spec.arguments(kwargs) if spec is not None else kwargs
    if isinstance(target, BuildingBlock) and observation is None:
        observation = f"scenario {rule}"
    if observation is None:
        target(**arguments)
        return None
    with observing(observation, confman=confman) as opened:
        target(**arguments)
    return opened.obsid


# Which services this entry point runs: name -> (module with ``main(argv, *, runner)``, runner).
JOB_SERVICES: dict[str, tuple[str, Callable[..., Any]]] = {
    "scheduler": ("controlroom.services.scheduler.server", run_in_observation),
    "scenarios": ("controlroom.services.scenarios.server", run_scenario),
}


def main(argv: list[str] | None = None) -> None:
    """Run the job service named first in ``argv`` with the observation runner."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in JOB_SERVICES:
        sys.exit(f"usage: python -m controlroom.cli.jobserver {{{'|'.join(JOB_SERVICES)}}} ...")
    module_name, runner = JOB_SERVICES[args[0]]
    importlib.import_module(module_name).main(args[1:], runner=runner)


if __name__ == "__main__":
    main()
