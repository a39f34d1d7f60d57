"""How the scheduler and the scenarios service run functions of the Setup: in observations.

Services may not import :mod:`controlroom.obs`; the runner that joins the two
lives here and is given to the services when their processes are built
(:mod:`.service`). ``obs`` is imported when a job or rule first runs, not when
the service starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_in_observation(
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    observation: str | None,
    confman: str,
    default_observation: str | None = None,
) -> str | None:
    """Run one job or firing: a building block as an observation, anything else in one
    if asked (a :class:`~controlroom.services.setupdriven.Runner`).

    A building block's observation is described by ``observation``, else
    ``default_observation``, else the block's full name. The arguments of a
    ``@task`` are coerced as the web panel's form would (an enum by its name).
    Returns the obsid of the observation it opened (None when it opened none).
    """
    from controlroom.obs import BuildingBlock
    from controlroom.obs import observation as observing
    from controlroom.obs.sequence import describe
    from controlroom.obs.task import TASK_ATTRIBUTE

    spec = getattr(target, TASK_ATTRIBUTE, None)
    arguments = spec.arguments(kwargs) if spec is not None else kwargs
    if isinstance(target, BuildingBlock):
        target.arguments(arguments)  # a wrong call fails here, before an observation is opened
        observation = observation or default_observation or describe(target)
    if observation is None:
        target(**arguments)
        return None
    with observing(observation, confman=confman) as opened:
        target(**arguments)
    return opened.obsid
