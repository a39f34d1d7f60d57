"""``@task``: a function an operator runs from the web panel, a button with a form.

::

    TASK_GROUP = "Thermal"          # the group of this module's buttons (default: module name)

    @task(immediate=True, devices=("dummy",))
    def ping_dummy() -> float:
        "Round trip to the dummy sensor, in ms."

    @task(display_name="Set temperature", devices=("tempctl",))
    def set_temperature(kelvin: float = 300.0, output: int = 1) -> None: ...

    @task(devices=("tempctl",))     # a building block runs as a task inside an observation
    @building_block
    def warm_up(*, output: int, target: float, rate: float) -> None: ...

The decorator only attaches a :class:`TaskSpec` (as ``__controlroom_task__``);
the function is called as before. The form comes from the type hints and
defaults (see :mod:`controlroom.obs.taskargs` for the types a form can ask
for); ``immediate`` tasks run on a click, without a form, so every argument
needs a default. ``devices`` names the servers a task commands: two runs that
use the same device never overlap. :func:`discover_tasks` imports task
modules, from allowed packages only, and groups their tasks: only the tasks
defined in an allowed package, not those a module imported from elsewhere
(see :mod:`controlroom.config.importing`).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, overload

from controlroom.config.importing import NamedImportError, import_module, is_defined_in
from controlroom.obs.building_block import BuildingBlock
from controlroom.obs.taskargs import (
    REQUIRED,
    TaskArgumentError,
    TaskDefinitionError,
    TaskError,
    TaskParameter,
    parameter,
)

F = TypeVar("F", bound=Callable[..., Any])
TASK_ATTRIBUTE = "__controlroom_task__"
GROUP_ATTRIBUTE = "TASK_GROUP"  # a module's display name for its group of buttons
SHIPPED_TASK_PACKAGES = ("controlroom.obs.demo_tasks",)
NOT_DESCRIBED = ("function", "parameters")  # the schema stands for both


class TaskDiscoveryError(TaskError):
    """A task module is not in an allowed package or cannot be imported."""


@dataclass(frozen=True)
class TaskSpec:
    """What the web panel needs to show a task as a button with a form, and to run it."""

    function: Callable[..., Any]
    name: str  # module.qualname, unique
    display_name: str
    group: str | None  # None: the module's TASK_GROUP or name, filled in by discover_tasks
    immediate: bool
    doc: str
    devices: tuple[str, ...]
    parameters: tuple[TaskParameter, ...]
    building_block: bool

    @property
    def module(self) -> str:
        return str(self.function.__module__)

    def schema(self) -> dict[str, Any]:
        """The argument form as a JSON Schema object."""
        return {
            "type": "object",
            "title": self.display_name,
            "description": self.doc,
            "properties": {p.name: p.schema() for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": False,
        }

    def arguments(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The call's keyword arguments: ``given`` (JSON) coerced, defaults filled in."""
        given = dict(given or {})
        known = {p.name: p for p in self.parameters}
        for name in given:
            if name not in known:
                names = ", ".join(known) or "none"
                raise TaskArgumentError(name, f"{self.display_name} has no such argument ({names})")
        arguments: dict[str, Any] = {}
        for param in self.parameters:
            if param.name in given:
                arguments[param.name] = param.coerce(given[param.name])
            elif param.required:
                raise TaskArgumentError(param.name, "missing; give a value")
            else:
                arguments[param.name] = param.default
        return arguments

    def describe(self) -> dict[str, Any]:
        """The task as JSON data, for the panel's list of buttons."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_DESCRIBED}
        return {**shown, "devices": list(self.devices), "schema": self.schema()}


@overload
def task(func: F, /) -> F: ...


@overload
def task(
    *,
    display_name: str | None = None,
    group: str | None = None,
    immediate: bool = False,
    devices: Iterable[str] | str = (),
) -> Callable[[F], F]: ...


def task(
    func: F | None = None,
    /,
    *,
    display_name: str | None = None,
    group: str | None = None,
    immediate: bool = False,
    devices: Iterable[str] | str = (),
) -> F | Callable[[F], F]:
    """Mark ``func`` as a task (bare, or with options); it is returned unchanged."""

    def decorate(target: F) -> F:
        spec = make_spec(
            target, display_name=display_name, group=group, immediate=immediate, devices=devices
        )
        setattr(target, TASK_ATTRIBUTE, spec)
        return target

    return decorate(func) if func is not None else decorate


def make_spec(
    target: Callable[..., Any],
    *,
    display_name: str | None = None,
    group: str | None = None,
    immediate: bool = False,
    devices: Iterable[str] | str = (),
) -> TaskSpec:
    """The :class:`TaskSpec` of a function or building block; refuses what a form cannot show."""
    block = target if isinstance(target, BuildingBlock) else None
    func = block.func if block is not None else target
    name = f"{func.__module__}.{func.__qualname__}"
    params = tuple(_parameters(name, func, block))
    missing = [p.name for p in params if p.required]
    if immediate and missing:
        raise TaskDefinitionError(
            f"task {name}: immediate tasks run without a form, so every argument needs a "
            f"default; {', '.join(missing)} has none"
        )
    return TaskSpec(
        function=target,
        name=name,
        display_name=display_name or func.__name__,
        group=group,
        immediate=bool(immediate),
        doc=inspect.getdoc(func) or "",
        devices=_device_names(name, devices),
        parameters=params,
        building_block=block is not None,
    )


def _parameters(
    name: str, func: Callable[..., Any], block: BuildingBlock[Any] | None
) -> Iterable[TaskParameter]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # a hint naming something undefined: say which task
        raise TaskDefinitionError(f"task {name}: cannot resolve its type hints: {exc}") from None
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TaskDefinitionError(
                f"task {name}: argument {param.name!r} must be nameable in a form "
                f"(no *args, **kwargs or positional-only arguments)"
            )
        default = param.default if param.default is not param.empty else REQUIRED
        if block is not None:
            default = block.defaults.get(param.name, REQUIRED)
        hint = hints.get(param.name)
        if hint is None:
            if default is REQUIRED or default is None:
                raise TaskDefinitionError(f"task {name}: argument {param.name!r} needs a type hint")
            hint = type(default)
        yield parameter(name, param.name, hint, default)


def _device_names(name: str, devices: Iterable[str] | str) -> tuple[str, ...]:
    found = (devices,) if isinstance(devices, str) else tuple(devices)
    for device in found:
        if not isinstance(device, str) or not device.strip():
            raise TaskDefinitionError(f"task {name}: devices must be server names, not {device!r}")
    return tuple(dict.fromkeys(d.strip() for d in found))


def task_spec(candidate: object) -> TaskSpec | None:
    """The spec of a ``@task`` (also when ``@building_block`` was applied over ``@task``)."""
    spec = getattr(candidate, TASK_ATTRIBUTE, None)
    if not isinstance(spec, TaskSpec):
        return None
    if spec.function is not candidate and isinstance(candidate, BuildingBlock):
        return make_spec(
            candidate,
            display_name=spec.display_name,
            group=spec.group,
            immediate=spec.immediate,
            devices=spec.devices,
        )
    return spec


def discover_tasks(
    module_names: Iterable[str],
    allowed_packages: Iterable[str],
    *,
    problems: list[str] | None = None,
) -> dict[str, list[TaskSpec]]:
    """The tasks of the named modules by group, in order; imports only from allowed packages.

    A module that is refused or fails to import, or a task a module imported
    from outside the allowed packages, raises TaskDiscoveryError, or, when
    ``problems`` is given, is reported there and skipped.
    """
    allowed = tuple(allowed_packages)
    groups: dict[str, list[TaskSpec]] = {}
    seen: set[str] = set()
    for module_name in module_names:
        try:
            module = _import_allowed(str(module_name), allowed)
        except TaskDiscoveryError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        default_group = str(getattr(module, GROUP_ATTRIBUTE, "") or module_name.rpartition(".")[2])
        for value in list(vars(module).values()):
            spec = task_spec(value)
            if spec is None or spec.name in seen:
                continue
            seen.add(spec.name)
            try:
                _check_defined(spec, module_name, allowed)
            except TaskDiscoveryError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                continue
            spec = replace(spec, group=spec.group or default_group)
            groups.setdefault(str(spec.group), []).append(spec)
    return groups


def _check_defined(spec: TaskSpec, module_name: str, allowed: tuple[str, ...]) -> None:
    # A task module may import a task from anywhere; offering it as a button would
    # run code the allow-list never admitted.
    if not is_defined_in(spec.function, allowed):
        names = ", ".join(allowed) or "none"
        raise TaskDiscoveryError(
            f"task {spec.name!r} (found in {module_name!r}) is not defined in an allowed "
            f"package (allowed: {names})"
        )


def task_modules(setup: Mapping[str, Any] | None) -> list[str]:
    """The module names in the Setup's ``tasks`` list (none without one)."""
    names = (setup or {}).get("tasks") or []
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise TaskDiscoveryError(f"the Setup's tasks must be a list of module names, not {names!r}")
    return list(names)


def task_packages(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Where task modules may be imported from: the Settings' allowed packages and the demo's."""
    allowed = (settings.get("security") or {}).get("allowed_packages") or ()
    extra = (settings.get("web") or {}).get("task_packages") or ()
    return (*allowed, *extra, *SHIPPED_TASK_PACKAGES)


def _import_allowed(module_name: str, allowed: tuple[str, ...]) -> Any:
    try:
        return import_module(module_name, allowed)
    except NamedImportError as exc:
        raise TaskDiscoveryError(f"task module: {exc}") from None
