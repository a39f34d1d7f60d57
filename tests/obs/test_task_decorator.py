"""@task: the spec it attaches, the form's JSON Schema from type hints, coercion, discovery."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest

from controlroom.obs import building_block
from controlroom.obs.task import (
    TaskDiscoveryError,
    TaskSpec,
    discover_tasks,
    task,
    task_modules,
    task_packages,
    task_spec,
)
from controlroom.obs.taskargs import TaskArgumentError, TaskDefinitionError


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@task
def hello(name: str = "John") -> str:
    """Say hello."""
    return f"Hello, {name}!"


@task(display_name="Everything", group="Forms", devices=("tempctl", "dummy", "tempctl"))
def everything(
    text: str,
    count: int,
    ratio: float,
    enabled: bool,
    mode: Mode,
    setpoints: list[float],
    steps: list[int],
    where: Path,
    level: Level = Level.HIGH,
    note: str | None = None,
    limit: Annotated[float, "K"] = 1.5,
) -> dict[str, Any]:
    """Every type a form can ask for."""
    return dict(locals())


def spec(func: object) -> TaskSpec:
    found = task_spec(func)
    assert found is not None
    return found


def test_the_decorator_leaves_the_function_as_it_was() -> None:
    assert hello() == "Hello, John!"
    assert hello("Ann") == "Hello, Ann!"
    assert hello.__name__ == "hello"
    found = spec(hello)
    assert found.name == f"{__name__}.hello"
    assert (found.display_name, found.group, found.immediate) == ("hello", None, False)
    assert found.doc == "Say hello."
    assert found.devices == ()
    assert found.function is hello


def test_options_are_kept() -> None:
    found = spec(everything)
    assert found.display_name == "Everything"
    assert found.group == "Forms"
    assert found.devices == ("tempctl", "dummy")  # duplicates dropped, order kept
    assert spec(task(devices="dummy")(lambda: None)).devices == ("dummy",)


def test_the_form_schema_follows_the_hints_and_defaults() -> None:
    schema = spec(everything).schema()
    assert schema["type"] == "object"
    assert schema["title"] == "Everything"
    assert schema["additionalProperties"] is False
    assert schema["required"] == [
        "text", "count", "ratio", "enabled", "mode", "setpoints", "steps", "where"
    ]  # fmt: skip
    props = schema["properties"]
    assert props["text"] == {"type": "string", "title": "text"}
    assert props["count"]["type"] == "integer"
    assert props["ratio"]["type"] == "number"
    assert props["enabled"]["type"] == "boolean"
    assert props["mode"]["enum"] == ["fast", "slow"]
    assert props["mode"]["x-enum-names"] == ["FAST", "SLOW"]
    assert props["setpoints"] == {
        "type": "array",
        "items": {"type": "number"},
        "title": "setpoints",
    }
    assert props["steps"]["items"] == {"type": "integer"}
    assert props["where"] == {"type": "string", "format": "path", "title": "where"}
    assert props["level"]["enum"] == [1, 2]
    assert props["level"]["default"] == 2
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["note"]["default"] is None
    assert props["limit"] == {"type": "number", "title": "limit", "default": 1.5}
    described = spec(everything).describe()
    assert described["schema"] == schema
    assert described["devices"] == ["tempctl", "dummy"]


@pytest.mark.parametrize(
    ("hint", "shown"),
    [
        (dict[str, int], "dict"),
        (list[str], "list[str]"),
        (int | str, "int | str"),
        (object, "object"),
        (tuple[float, ...], "tuple"),
    ],
)
def test_an_unsupported_hint_is_refused_naming_the_argument(hint: Any, shown: str) -> None:
    def odd(value: Any) -> None: ...

    odd.__annotations__["value"] = hint
    with pytest.raises(TaskDefinitionError) as caught:
        task(odd)
    message = str(caught.value)
    assert "'value'" in message
    assert shown in message
    assert "supported" in message


def test_declarations_a_form_cannot_show_are_refused() -> None:
    def no_hint(value):  # type: ignore[no-untyped-def]
        return value

    with pytest.raises(TaskDefinitionError, match="'value' needs a type hint"):
        task(no_hint)

    def variadic(*values: int) -> None: ...

    with pytest.raises(TaskDefinitionError, match="'values'"):
        task(variadic)

    def needs_input(kelvin: float) -> None: ...

    with pytest.raises(TaskDefinitionError, match=r"immediate.*kelvin"):
        task(immediate=True)(needs_input)

    def wrong_default(count: int = "many") -> None:  # type: ignore[assignment]
        ...

    with pytest.raises(TaskDefinitionError, match="default of 'count'"):
        task(wrong_default)

    with pytest.raises(TaskDefinitionError, match="devices"):
        task(devices=("tempctl", ""))(hello)


def test_a_hint_may_be_inferred_from_a_plain_default() -> None:
    def guess(count=3, name="x"):  # type: ignore[no-untyped-def]
        return count, name

    props = spec(task(guess)).schema()["properties"]
    assert (props["count"]["type"], props["name"]["type"]) == ("integer", "string")


def test_json_arguments_are_coerced_and_defaults_filled_in() -> None:
    arguments = spec(everything).arguments(
        {
            "text": "hi",
            "count": "3",
            "ratio": 2,
            "enabled": "true",
            "mode": "SLOW",
            "setpoints": "1, 2.5 3",
            "steps": [1, 2.0],
            "where": "~/data/run.csv",
            "level": "1",
            "note": None,
        }
    )
    assert arguments["count"] == 3
    assert arguments["ratio"] == 2.0
    assert isinstance(arguments["ratio"], float)
    assert arguments["enabled"] is True
    assert arguments["mode"] is Mode.SLOW
    assert arguments["setpoints"] == [1.0, 2.5, 3.0]
    assert arguments["steps"] == [1, 2]
    assert arguments["where"] == Path.home() / "data" / "run.csv"
    assert arguments["level"] is Level.LOW
    assert arguments["note"] is None
    assert arguments["limit"] == 1.5
    assert everything(**arguments)["mode"] is Mode.SLOW
    assert spec(everything).arguments({**_required(), "mode": "fast"})["mode"] is Mode.FAST


def _required() -> dict[str, Any]:
    return {
        "text": "t",
        "count": 1,
        "ratio": 1.0,
        "enabled": False,
        "mode": "fast",
        "setpoints": [],
        "steps": [],
        "where": "/tmp/x",
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("count", 3.5, "expected an integer"),
        ("count", True, "expected an integer"),
        ("count", "three", "expected an integer"),
        ("ratio", "nan", "finite"),
        ("enabled", "maybe", "true or false"),
        ("mode", "medium", "not a Mode: one of FAST"),
        ("setpoints", [1, "x"], "expected a number"),
        ("setpoints", 5, "list of numbers"),
        ("where", "  ", "expected a path"),
        ("text", 12, "expected text"),
        ("text", None, "required"),
    ],
)
def test_a_wrong_argument_is_named(name: str, value: Any, message: str) -> None:
    with pytest.raises(TaskArgumentError, match=message) as caught:
        spec(everything).arguments({**_required(), name: value})
    assert caught.value.argument == name
    assert f"argument {name!r}" in str(caught.value)


def test_missing_and_unknown_arguments_are_named() -> None:
    with pytest.raises(TaskArgumentError, match="'text': missing"):
        spec(everything).arguments({})
    with pytest.raises(TaskArgumentError, match=r"'colour'.*no such argument"):
        spec(everything).arguments({**_required(), "colour": "red"})


@task(group="Blocks", devices=("dummy",))
@building_block
def calibrate(*, offset: float, label: str) -> float:
    """Set an offset."""
    return offset


@building_block
@task(display_name="Inner first")
def inner_first(*, kelvin: float) -> float:
    return kelvin


def test_a_building_block_becomes_a_task_in_either_order() -> None:
    found = spec(calibrate)
    assert found.building_block is True
    assert found.function is calibrate
    assert found.name == f"{__name__}.calibrate"
    assert found.schema()["required"] == ["offset", "label"]
    other = spec(inner_first)
    assert (other.building_block, other.display_name) == (True, "Inner first")
    assert other.function is inner_first


def test_discovery_groups_tasks_and_imports_only_allowed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lab_tasks_grouped.py").write_text(
        "from controlroom.obs.task import task\n"
        "TASK_GROUP = 'Lab'\n"
        "@task\ndef first() -> None: ...\n"
        "@task(group='Other')\ndef second() -> None: ...\n"
        "@task\ndef third() -> None: ...\n"
    )
    (tmp_path / "lab_tasks_plain.py").write_text(
        "from controlroom.obs.task import task\n@task\ndef only(x: int = 1) -> int: return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    allowed = ["lab_tasks_grouped", "lab_tasks_plain"]
    groups = discover_tasks(["lab_tasks_grouped", "lab_tasks_plain"], allowed)
    assert {g: [s.display_name for s in specs] for g, specs in groups.items()} == {
        "Lab": ["first", "third"],
        "Other": ["second"],
        "lab_tasks_plain": ["only"],
    }
    assert groups["Lab"][0].group == "Lab"

    with pytest.raises(TaskDiscoveryError, match="'os' is not in an allowed package"):
        discover_tasks(["os"], allowed)
    assert "lab_tasks_refused" not in sys.modules
    problems: list[str] = []
    (tmp_path / "lab_tasks_broken.py").write_text("raise RuntimeError('no lab today')\n")
    groups = discover_tasks(
        ["lab_tasks_refused", "lab_tasks_broken", "lab_tasks_plain"],
        [*allowed, "lab_tasks_broken"],
        problems=problems,
    )
    assert list(groups) == ["lab_tasks_plain"]
    assert "'lab_tasks_refused' is not in an allowed package" in problems[0]
    assert "RuntimeError: no lab today" in problems[1]


def test_a_task_a_task_module_imported_from_elsewhere_is_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lab_tasks_elsewhere.py").write_text(
        "from controlroom.obs.task import task\n@task\ndef wipe() -> None: ...\n"
    )
    (tmp_path / "lab_tasks_borrowing.py").write_text(
        "from controlroom.obs.task import task\n"
        "from lab_tasks_elsewhere import wipe\n"
        "@task\ndef own() -> None: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    allowed = ["lab_tasks_borrowing"]
    with pytest.raises(TaskDiscoveryError, match=r"'lab_tasks_elsewhere\.wipe'.*not defined in an"):
        discover_tasks(["lab_tasks_borrowing"], allowed)
    problems: list[str] = []
    groups = discover_tasks(["lab_tasks_borrowing"], allowed, problems=problems)
    assert [s.name for s in groups["lab_tasks_borrowing"]] == ["lab_tasks_borrowing.own"]
    assert len(problems) == 1 and "lab_tasks_elsewhere.wipe" in problems[0]


def test_the_demo_tasks_come_in_two_groups() -> None:
    groups = discover_tasks(["controlroom.obs.demo_tasks"], ["controlroom.obs.demo_tasks"])
    assert list(groups) == ["Thermal", "Checks"]
    thermal = {s.display_name: s for s in groups["Thermal"]}
    assert thermal["Warm up (observation)"].building_block
    assert all(s.devices == ("tempctl",) for s in thermal.values())
    assert any(s.immediate for s in groups["Checks"])


def test_setup_modules_and_allowed_packages_from_the_configuration() -> None:
    assert task_modules({"tasks": ["controlroom.obs.demo_tasks"]}) == ["controlroom.obs.demo_tasks"]
    assert task_modules({}) == []
    with pytest.raises(TaskDiscoveryError, match="list of module names"):
        task_modules({"tasks": "controlroom.obs.demo_tasks"})
    settings = {"security": {"allowed_packages": ["lab"]}, "web": {"task_packages": ["scripts"]}}
    assert task_packages(settings) == ("lab", "scripts", "controlroom.obs.demo_tasks")
