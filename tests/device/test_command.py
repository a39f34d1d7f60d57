"""``@command`` declarations and the CommandSpec they build: bind, render, schema.

No ``from __future__ import annotations`` here: interfaces are declared inside
the tests and their annotations must resolve to local classes.
"""

import enum
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any, Optional

import numpy as np
import pytest

from controlroom.device import (
    ArgumentError,
    CommandSpec,
    DeclarationError,
    DeviceError,
    Interface,
    choices,
    command,
    in_range,
    max_length,
)
from controlroom.device.command import BoundCommand, Command


class Mode(enum.Enum):
    AUTO = "auto"
    MANUAL = "manual"


class Heater(enum.IntEnum):
    OFF = 0
    LOW = 1
    HIGH = 3


class Swapped(enum.Enum):
    A = "B"
    B = "A"


class Thermostat(Interface):
    """A two-input temperature controller."""

    @command("query", "KRDG? ${input}", parse=float)
    def temperature(self, input: Annotated[str, choices("A", "B")] = "A") -> float:
        """Temperature of one input in kelvin.

        Read from the sensor curve.
        """

    @command("write", "SETP ${loop},${value}", timeout=2.5)
    def set_setpoint(
        self, value: Annotated[float, in_range(0, 500)], loop: Annotated[int, in_range(1, 2)] = 1
    ) -> None:
        """Set the setpoint of a loop."""

    @command("write", "MODE ${mode}")
    def set_mode(self, mode: Mode) -> None:
        """Set the control mode."""

    @command("write", "RANGE ${loop},${level}")
    def set_heater(self, level: Heater, *, loop: int = 1) -> None:
        """Set the heater range."""

    @command("read")
    def pending(self) -> str:
        """Read whatever the device sent."""

    @command("transaction", "*RST")
    def reset(self) -> str:
        """Reset; the device answers OK."""

    @command()
    def ramp(self, start: float, stop: float, steps: int = 10) -> list[float]:
        """A hand-written command: several exchanges."""
        return list(np.linspace(start, stop, steps))


def spec(name: str, cls: type = Thermostat) -> CommandSpec:
    return cls.commands()[name]


def declaration_error(define: Callable[[], object]) -> DeclarationError:
    """Run a class definition; return the DeclarationError it raised.

    Python 3.11 wraps an exception raised in ``__set_name__`` in a RuntimeError;
    the declaration error is then its cause (see the xfail test below).
    """
    with pytest.raises((DeclarationError, RuntimeError)) as caught:
        define()
    error: BaseException | None = caught.value
    if not isinstance(error, DeclarationError):
        error = error.__cause__ if error is not None else None
    assert isinstance(error, DeclarationError)
    assert isinstance(error, TypeError)  # a declaration bug is a programming error
    return error


# -- declarations --------------------------------------------------------------------------


def test_every_kind_can_be_declared() -> None:
    kinds = {name: s.kind for name, s in Thermostat.commands().items()}
    assert kinds == {
        "temperature": "query",
        "set_setpoint": "write",
        "set_mode": "write",
        "set_heater": "write",
        "pending": "read",
        "reset": "transaction",
        "ramp": None,
    }


def test_the_declaration_is_recorded_on_the_spec() -> None:
    s = spec("set_setpoint")
    assert s.name == "set_setpoint"
    assert s.template == "SETP ${loop},${value}"
    assert s.timeout == 2.5
    assert s.returns is type(None)
    assert [p.name for p in s.parameters] == ["value", "loop"]
    assert s.declarative
    assert spec("temperature").parse is float
    assert spec("temperature").returns is float
    assert not spec("ramp").declarative


def test_docstrings_are_cleaned() -> None:
    assert spec("temperature").doc == (
        "Temperature of one input in kelvin.\n\nRead from the sensor curve."
    )


def test_the_class_keeps_a_command_descriptor() -> None:
    descriptor = Thermostat.__dict__["temperature"]
    assert isinstance(descriptor, Command)
    assert Thermostat.temperature is descriptor
    assert descriptor.spec is spec("temperature")
    assert descriptor.__doc__ == Thermostat.temperature.func.__doc__


@pytest.mark.parametrize("kind", ["set", "WRITE", "", 1])
def test_an_unknown_kind_is_a_declaration_error(kind: Any) -> None:
    def define() -> None:
        class Bad(Interface):
            @command(kind, "X")
            def x(self) -> None: ...

    assert "kind must be one of" in str(declaration_error(define))


@pytest.mark.parametrize("kind", ["write", "query", "transaction"])
def test_a_kind_that_sends_needs_a_command_string(kind: str) -> None:
    def define() -> None:
        class Bad(Interface):
            @command(kind)
            def x(self) -> None: ...

    assert "needs cmd= or prepare=" in str(declaration_error(define))


def test_a_command_string_needs_a_kind() -> None:
    def with_cmd() -> None:
        class Bad(Interface):
            @command(cmd="X")
            def x(self) -> None: ...

    def with_prepare() -> None:
        class Bad(Interface):
            @command(prepare=lambda: "X")
            def x(self) -> None: ...

    assert "needs a kind" in str(declaration_error(with_cmd))
    assert "needs a kind" in str(declaration_error(with_prepare))


@pytest.mark.parametrize("template", ["SET ${nope}", "SET $nope", "SET ${value} ${Value}"])
def test_template_placeholders_must_name_arguments(template: str) -> None:
    def define() -> None:
        class Bad(Interface):
            @command("write", template)
            def set_value(self, value: float) -> None: ...

    error = declaration_error(define)
    assert "set_value" in str(error)
    assert "unknown" in str(error)


def test_a_dollar_escape_is_not_a_placeholder() -> None:
    class Good(Interface):
        @command("write", "PRICE $$${value}")
        def price(self, value: int) -> None: ...

    assert spec("price", Good).render({"value": 5}) == "PRICE $5"


def test_an_invalid_template_is_a_declaration_error() -> None:
    def define() -> None:
        class Bad(Interface):
            @command("write", "SET ${value")
            def set_value(self, value: float) -> None: ...

    declaration_error(define)


def test_validators_for_unknown_arguments_are_a_declaration_error() -> None:
    def define() -> None:
        class Bad(Interface):
            @command("write", "V ${volts}", validators={"volt": in_range(0, 5)})
            def set_voltage(self, volts: float) -> None: ...

    assert "['volt']" in str(declaration_error(define))


@pytest.mark.parametrize(
    ("annotation", "default"),
    [
        (Annotated[float, in_range(0, 10)], 11.0),
        (int, "one"),
        (float, True),
        (Mode, "automatic"),
        (Annotated[str, choices("A", "B")], "C"),
        (Annotated[str, max_length(3)], "ABCD"),
    ],
)
def test_a_bad_default_is_a_declaration_error(annotation: Any, default: Any) -> None:
    def define() -> None:
        class Bad(Interface):
            @command("write", "X ${x}")
            def x(self, x: annotation = default) -> None:  # type: ignore[valid-type]
                ...

    assert "default of argument 'x'" in str(declaration_error(define))


def test_defaults_are_checked_and_normalised_once() -> None:
    class Good(Interface):
        @command("write", "X ${x},${mode},${ch}")
        def x(
            self,
            x: float = 1,
            mode: Mode = "AUTO",  # type: ignore[assignment]
            ch: Annotated[str, choices("A", "B")] = "b",
        ) -> None: ...

    params = {p.name: p.default for p in spec("x", Good).parameters}
    assert params == {"x": 1.0, "mode": Mode.AUTO, "ch": "B"}
    assert type(params["x"]) is float


def test_a_none_default_is_not_checked() -> None:
    class Good(Interface):
        @command()
        def x(self, limit: Annotated[float, in_range(0, 1)] = None) -> Any:  # type: ignore[assignment]  # noqa: RUF013
            return limit

    assert Good().x() is None


def test_a_command_is_a_method() -> None:
    def no_params() -> None:
        class Bad(Interface):
            @command("read")
            def x() -> None: ...  # type: ignore[misc]

    def not_self() -> None:
        class Bad(Interface):
            @command("read")
            def x(this) -> None: ...

    assert "first parameter is self" in str(declaration_error(no_params))
    assert "first parameter is self" in str(declaration_error(not_self))


def test_an_unresolvable_annotation_is_a_declaration_error() -> None:
    def define() -> None:
        class Bad(Interface):
            @command("write", "X ${x}")
            def x(self, x: "NoSuchType") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    assert "cannot resolve type hints" in str(declaration_error(define))


def test_class_creation_raises_the_declaration_error_itself() -> None:
    with pytest.raises(DeclarationError):

        class Bad(Interface):
            @command("write", "X ${y}")
            def x(self, x: int) -> None: ...


# -- bind ----------------------------------------------------------------------------------


def test_bind_positional_keyword_and_defaults() -> None:
    s = spec("set_setpoint")
    assert s.bind((250,), {}) == {"value": 250.0, "loop": 1}
    assert s.bind((250, 2), {}) == {"value": 250.0, "loop": 2}
    assert s.bind((), {"loop": 2, "value": 1.5}) == {"value": 1.5, "loop": 2}
    assert s.bind([250], {"loop": 2}) == {"value": 250.0, "loop": 2}


def test_bind_returns_arguments_in_any_order_but_complete() -> None:
    assert spec("temperature").bind((), {}) == {"input": "A"}
    assert spec("pending").bind((), {}) == {}


def test_bind_refuses_a_missing_argument() -> None:
    with pytest.raises(
        ArgumentError, match=r"set_setpoint\(\) missing a required argument: 'value'"
    ):
        spec("set_setpoint").bind((), {"loop": 1})


def test_bind_refuses_an_unexpected_keyword() -> None:
    with pytest.raises(ArgumentError, match="unexpected keyword argument 'volts'"):
        spec("set_setpoint").bind((1,), {"volts": 1})


def test_bind_refuses_self_as_a_keyword() -> None:
    with pytest.raises(ArgumentError, match="'self'"):
        spec("set_setpoint").bind((1,), {"self": 1})


def test_bind_refuses_too_many_positional_arguments() -> None:
    with pytest.raises(ArgumentError, match="takes 2 positional arguments but 3 were given"):
        spec("set_setpoint").bind((1, 1, 1), {})
    with pytest.raises(ArgumentError, match="takes 0 positional arguments but 1"):
        spec("pending").bind((1,), {})


def test_keyword_only_arguments_are_not_positional() -> None:
    s = spec("set_heater")
    assert s.bind((Heater.LOW,), {"loop": 2}) == {"level": Heater.LOW, "loop": 2}
    with pytest.raises(ArgumentError, match="takes 1 positional"):
        s.bind((1, 2), {})


def test_bind_refuses_multiple_values() -> None:
    with pytest.raises(ArgumentError, match="multiple values for argument 'value'"):
        spec("set_setpoint").bind((1,), {"value": 2})


def test_bind_validates_every_argument() -> None:
    s = spec("set_setpoint")
    with pytest.raises(ArgumentError, match="argument 'value': 501"):
        s.bind((501,), {})
    with pytest.raises(ArgumentError, match="argument 'loop'"):
        s.bind((1,), {"loop": 3})
    with pytest.raises(ArgumentError, match="argument 'input'"):
        spec("temperature").bind(("C",), {})


def test_argument_errors_are_value_errors_and_device_errors() -> None:
    with pytest.raises(ValueError):
        spec("set_setpoint").bind((), {})
    assert issubclass(ArgumentError, DeviceError)


@pytest.mark.parametrize(
    ("given", "member"),
    [(Mode.MANUAL, Mode.MANUAL), ("manual", Mode.MANUAL), ("MANUAL", Mode.MANUAL)],
)
def test_enum_arguments_coerce_by_member_value_or_name(given: Any, member: Mode) -> None:
    assert spec("set_mode").bind((given,), {})["mode"] is member


def test_int_enum_arguments_coerce_from_their_integer() -> None:
    assert spec("set_heater").bind((3,), {})["level"] is Heater.HIGH
    assert spec("set_heater").bind(("LOW",), {})["level"] is Heater.LOW


def test_an_unknown_enum_value_names_the_members() -> None:
    with pytest.raises(ArgumentError, match="AUTO, MANUAL"):
        spec("set_mode").bind(("off",), {})


def test_enum_coercion_prefers_a_value_over_a_name() -> None:
    class Swap(Interface):
        @command("write", "S ${s}")
        def swap(self, s: Swapped) -> None: ...

    assert spec("swap", Swap).bind(("A",), {})["s"] is Swapped("A")


def test_integers_are_accepted_as_floats() -> None:
    for given in (3, np.int32(3), np.float32(3.0), 3.0):
        value = spec("set_setpoint").bind((given,), {})["value"]
        assert value == 3.0
        assert type(value) is float


@pytest.mark.parametrize("given", [True, False, np.bool_(True)])
def test_booleans_are_not_numbers(given: Any) -> None:
    with pytest.raises(ArgumentError, match="expected a number"):
        spec("set_setpoint").bind((given,), {})
    with pytest.raises(ArgumentError, match="expected an integer"):
        spec("set_setpoint").bind((1,), {"loop": given})


@pytest.mark.parametrize("given", ["1", None, [1], 1 + 0j])
def test_non_numbers_are_refused_for_floats(given: Any) -> None:
    with pytest.raises(ArgumentError, match="argument 'value'"):
        spec("set_setpoint").bind((given,), {})


def test_floats_are_not_integers() -> None:
    with pytest.raises(ArgumentError, match=r"expected an integer, got 1\.0"):
        spec("set_setpoint").bind((1,), {"loop": 1.0})


class Annotations(Interface):
    @command("write", "V ${volts}", validators={"volts": in_range(0, 3)})
    def both(self, volts: Annotated[float, in_range(-5, 5)]) -> None: ...

    @command()
    def optional(self, limit: Optional[float] = None, count: int | None = None) -> Any:  # noqa: UP045
        return limit, count

    @command()
    def sequence(self, values: list[float], pair: tuple[int, ...] = ()) -> Any:
        return values, pair

    @command()
    def anything(self, value, other: Any = None) -> Any:  # type: ignore[no-untyped-def]
        return value, other


def test_annotated_and_dict_validators_both_apply() -> None:
    s = spec("both", Annotations)
    assert [type(v).__name__ for v in s.parameters[0].validators] == ["InRange", "InRange"]
    assert s.bind((2,), {}) == {"volts": 2.0}
    with pytest.raises(ArgumentError, match=r"\[0, 3\]"):
        s.bind((4,), {})
    with pytest.raises(ArgumentError, match=r"\[-5, 5\]"):
        s.bind((-6,), {})


def test_optional_arguments_accept_none_or_the_type() -> None:
    device = Annotations()
    assert device.optional() == (None, None)
    assert device.optional(None, None) == (None, None)
    assert device.optional(2, count=3) == (2.0, 3)
    with pytest.raises(ArgumentError, match="argument 'count'"):
        device.optional(count=1.5)


def test_sequence_arguments_coerce_their_items() -> None:
    device = Annotations()
    assert device.sequence((1, 2.5)) == ([1.0, 2.5], ())
    assert device.sequence(np.array([1, 2]), [1, 2]) == ([1.0, 2.0], (1, 2))
    with pytest.raises(ArgumentError, match="expected a list"):
        device.sequence("12")
    with pytest.raises(ArgumentError, match="expected a number"):
        device.sequence([1, "2"])


def test_unannotated_arguments_pass_unchecked() -> None:
    thing = object()
    assert Annotations().anything(thing, other=[1]) == (thing, [1])


def test_optional_with_a_validator_accepts_none() -> None:
    class Opt(Interface):
        @command()
        def limit(self, value: Annotated[Optional[float], in_range(0, 10)] = None) -> Any:  # noqa: UP045
            return value

    assert Opt().limit(None) is None


def test_validators_inside_optional_are_applied() -> None:
    class Opt(Interface):
        @command()
        def limit(self, value: Annotated[float, in_range(0, 10)] | None = None) -> Any:
            return value

    with pytest.raises(ArgumentError):
        Opt().limit(100.0)


# -- variadic and positional-only signatures (the general path) ----------------------------


class Variadic(Interface):
    @command("write", "HOME ${axes}")
    def home(self, *axes: str, speed: Annotated[float, in_range(0, 10)] = 1.0) -> None: ...

    @command("write", "MOVE ${axis}", prepare=lambda axis, distance, **options: f"MOVE {axis}")
    def move(self, axis: str, /, distance: float = 0.0, **options: Any) -> None: ...


def test_variadic_signatures_bind_through_inspect() -> None:
    s = spec("home", Variadic)
    assert s.bind(("x", "y"), {"speed": 2}) == {"axes": ("x", "y"), "speed": 2.0}
    assert s.bind((), {}) == {"axes": (), "speed": 1.0}


def test_variadic_signatures_still_validate_named_arguments() -> None:
    s = spec("home", Variadic)
    with pytest.raises(ArgumentError, match="argument 'speed'"):
        s.bind(("x",), {"speed": 11})
    with pytest.raises(ArgumentError, match="argument 'speed'"):
        s.bind(("x",), {"speed": True})


def test_positional_only_and_var_keyword_signatures() -> None:
    s = spec("move", Variadic)
    assert s.bind(("x", 2), {"fast": True}) == {
        "axis": "x",
        "distance": 2.0,
        "options": {"fast": True},
    }
    with pytest.raises(ArgumentError, match=r"move\(\):"):
        s.bind((), {"axis": "x"})
    with pytest.raises(ArgumentError, match=r"move\(\): missing"):
        s.bind((), {})


def test_too_many_arguments_on_the_general_path() -> None:
    class Only(Interface):
        @command()
        def f(self, a: int, /) -> int:
            return a

    with pytest.raises(ArgumentError, match=r"f\(\): too many positional"):
        spec("f", Only).bind((1, 2), {})


def test_a_none_default_on_the_general_path() -> None:
    class Opt(Interface):
        @command()
        def home(self, *axes: str, speed: float = None) -> Any:  # type: ignore[assignment]  # noqa: RUF013
            return speed

    assert spec("home", Opt).bind(("x",), {})["speed"] is None


def test_a_hand_written_variadic_command_runs() -> None:
    class Motion(Interface):
        @command()
        def home(self, *axes: str) -> list[str]:
            return list(axes)

    assert Motion().home("x", "y") == ["x", "y"]


def test_a_hand_written_positional_only_command_runs() -> None:
    class Motion(Interface):
        @command()
        def jog(self, axis: str, /) -> str:
            return axis

    assert Motion().jog("x") == "x"


# -- render --------------------------------------------------------------------------------


def test_render_fills_the_template() -> None:
    s = spec("set_setpoint")
    assert s.render(s.bind((250,), {"loop": 2})) == "SETP 2,250.0"


def test_render_writes_booleans_as_one_and_zero() -> None:
    class Switch(Interface):
        @command("write", "OUT ${on}")
        def output(self, on: bool) -> None: ...

    s = spec("output", Switch)
    assert s.render(s.bind((True,), {})) == "OUT 1"
    assert s.render(s.bind((False,), {})) == "OUT 0"


def test_render_writes_enums_as_their_value() -> None:
    assert spec("set_mode").render({"mode": Mode.MANUAL}) == "MODE manual"
    assert spec("set_heater").render({"level": Heater.HIGH, "loop": 1}) == "RANGE 1,3"
    assert spec("set_heater").render({"level": Heater.OFF, "loop": 1}) == "RANGE 1,0"


def test_render_uses_prepare_with_validated_arguments() -> None:
    seen = {}

    def prepare(value: float, unit: str) -> str:
        seen.update(value=value, unit=unit)
        return f"SRC {value:.3f} {unit}"

    class Source(Interface):
        @command("write", prepare=prepare)
        def source(self, value: float, unit: Annotated[str, choices("V", "A")] = "V") -> None: ...

    s = spec("source", Source)
    assert s.render(s.bind((1,), {"unit": "a"})) == "SRC 1.000 A"
    assert seen == {"value": 1.0, "unit": "A"}


# -- BoundCommand --------------------------------------------------------------------------


def test_bound_commands_look_like_methods() -> None:
    bound = Thermostat().set_setpoint
    assert isinstance(bound, BoundCommand)
    assert list(inspect.signature(bound).parameters) == ["value", "loop"]
    assert inspect.signature(bound).return_annotation is None
    assert bound.__doc__ == "Set the setpoint of a loop."
    assert inspect.getdoc(bound) == "Set the setpoint of a loop."
    assert "set_setpoint" in repr(bound)


def test_bound_commands_run_through_the_instance() -> None:
    calls = []

    class Recorder(Thermostat):
        def _run_command(self, spec: CommandSpec, args: Any, kwargs: Any) -> Any:
            calls.append((spec.name, args, kwargs))
            return "done"

    assert Recorder().set_setpoint(5, loop=2) == "done"
    assert calls == [("set_setpoint", (5,), {"loop": 2})]


# -- schema --------------------------------------------------------------------------------


def test_schema_describes_a_command() -> None:
    schema = spec("set_setpoint").schema()
    assert schema == {
        "name": "set_setpoint",
        "kind": "write",
        "doc": "Set the setpoint of a loop.",
        "access": "command",
        "changes_device": True,
        "params": {
            "type": "object",
            "properties": {
                "value": {"type": "number", "minimum": 0, "maximum": 500},
                "loop": {"type": "integer", "minimum": 1, "maximum": 2, "default": 1},
            },
            "required": ["value"],
            "additionalProperties": False,
            "x-order": ["value", "loop"],
        },
        "returns": {"type": "null"},
    }


def test_schemas_are_json() -> None:
    for s in Thermostat.commands().values():
        assert json.loads(json.dumps(s.schema())) == s.schema()


def test_schema_of_choices_enums_and_returns() -> None:
    temperature = spec("temperature").schema()
    assert temperature["params"]["properties"]["input"] == {
        "type": "string",
        "enum": ["A", "B"],
        "default": "A",
    }
    assert temperature["returns"] == {"type": "number"}
    mode = spec("set_mode").schema()["params"]["properties"]["mode"]
    assert mode == {"enum": ["auto", "manual"], "x-enum-names": ["AUTO", "MANUAL"], "title": "Mode"}
    assert spec("ramp").schema()["returns"] == {"type": "array", "items": {"type": "number"}}


def test_schema_kind_and_changes_device() -> None:
    described = {
        n: (s.schema()["kind"], s.schema()["changes_device"])
        for n, s in Thermostat.commands().items()
    }
    assert described["temperature"] == ("query", False)
    assert described["pending"] == ("read", False)
    assert described["set_mode"] == ("write", True)
    assert described["reset"] == ("transaction", True)
    assert described["ramp"] == ("custom", True)


def test_schema_of_keyword_only_optional_and_variadic_arguments() -> None:
    heater = spec("set_heater").schema()["params"]
    assert heater["required"] == ["level"]
    assert heater["properties"]["loop"] == {"type": "integer", "default": 1}
    optional = spec("optional", Annotations).schema()["params"]["properties"]["limit"]
    assert optional == {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None}
    home = spec("home", Variadic).schema()["params"]
    assert list(home["properties"]) == ["speed"]
    assert home["required"] == []


def test_schema_of_an_unannotated_return_is_open() -> None:
    class Loose(Interface):
        @command("read")
        def anything(self): ...  # type: ignore[no-untyped-def]

    assert spec("anything", Loose).schema()["returns"] == {}


def test_schema_gives_an_enum_default_as_its_value() -> None:
    class Defaults(Interface):
        @command("write", "MODE ${mode}")
        def set_mode(self, mode: Mode = Mode.AUTO) -> None: ...

    assert spec("set_mode", Defaults).schema()["params"]["properties"]["mode"]["default"] == "auto"
