"""How the scheduler and the scenarios service run functions of the Setup: in observations.

Services may not import :mod:`controlroom.obs`; the runners that join the two
live here and are given to the services when their processes are built
(:mod:`.service`). A building block runs through :func:`controlroom.obs.execute`,
which opens and ends an observation at the configuration manager around it.
``obs`` is imported when a job first runs, not when the service starts.
"""

from __future__ import annotations

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

    The arguments of a ``@task`` are coerced as the web panel's form would (an
    enum by its name). Returns the obsid of the observation it opened (None
    when it opened none).
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
