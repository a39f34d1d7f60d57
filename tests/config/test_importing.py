"""Naming a class or function in a configuration: only what an allowed package defines."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controlroom.config.errors import DirectiveError
from controlroom.config.importing import (
    NamedImportError,
    import_callable,
    import_class,
    import_module,
    may_name_module,
)
from controlroom.config.navdict import NavigableDict

KIT = "importing_testkit"  # a module made per test, with names of its own and imported ones
ATTACK = "controlroom.devices.tempctl.sim.physics:np.memmap"  # physics does `import numpy as np`


class Made:
    """Counts its instances, to see whether a refused name was ever called."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1

    def create(self, **kwargs: Any) -> Made:
        return Made(**kwargs)

    class Inner:
        pass

    @staticmethod
    def helper() -> None: ...


class Foreign:
    """Defined outside the kit; the kit only imports it."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1

    def create(self, **kwargs: Any) -> Foreign:
        return Foreign()


@pytest.fixture
def kit(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType(KIT)
    Made.made = Foreign.made = 0
    for cls in (Made, Made.Inner):
        monkeypatch.setattr(cls, "__module__", KIT)
    monkeypatch.setattr(Made.helper, "__module__", KIT)
    module.__dict__.update(Made=Made, Foreign=Foreign, np=np, memmap=np.memmap, path=Path)
    module.__dict__["_hidden"] = Made
    monkeypatch.setitem(sys.modules, KIT, module)
    return module


def memmap_setup(kind: str, target: Path) -> NavigableDict:
    args: dict[str, Any] = (
        {"device_args": [str(target)], "device_kwargs": {"mode": "w+", "shape": 16}}
        if kind == "class"
        else {"device_args": {"filename": str(target), "mode": "w+", "shape": 16}}
    )
    return NavigableDict({"gse": {"evil": {"device": f"{kind}//{ATTACK}", **args}}})


@pytest.mark.parametrize("kind", ["class", "factory"])
def test_numpy_memmap_reached_through_an_allowed_module_is_refused(
    kind: str, tmp_path: Path
) -> None:
    target = tmp_path / "victim.bin"
    setup = memmap_setup(kind, target)
    with pytest.raises(DirectiveError, match=r"^gse\.evil\.device: .*not defined in an allowed"):
        _ = setup.gse.evil.device
    assert not target.exists()


@pytest.mark.parametrize("kind", ["class", "factory"])
def test_a_class_an_allowed_module_imported_is_never_made(kind: str, kit: Any) -> None:
    setup = NavigableDict(
        {"a": {"device": f"{kind}//{KIT}:Foreign"}, "b": {"device": f"{kind}//{KIT}:memmap"}},
        allowed_packages=[KIT],
    )
    for key in ("a", "b"):
        with pytest.raises(DirectiveError, match=rf"^{key}\.device: .*not defined in an allowed"):
            _ = setup[key].device
    assert Foreign.made == 0


def test_the_kits_own_class_and_a_class_inside_it_are_allowed(kit: Any) -> None:
    assert import_class(f"{KIT}:Made", [KIT]) is Made
    assert import_class(f"{KIT}.Made", [KIT]) is Made
    assert import_class(f"{KIT}:Made.Inner", [KIT]) is Made.Inner
    assert import_callable(f"{KIT}:Made.helper", [KIT]) is Made.helper


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"{KIT}:np", "is not a function"),
        (f"{KIT}:path", "not defined in an allowed package"),
        (f"{KIT}:Made.Inner.x", "at most module:Class.attribute"),
        (f"{KIT}:np.memmap", "not defined in an allowed package"),
        (f"{KIT}:Made.mro", "not defined in an allowed package"),  # inherited from type
        (f"{KIT}:_hidden", "private"),
        (f"{KIT}:Made.__init__", "private"),
        (f"{KIT}:Made.__class__", "private"),
        (f"{KIT}:a-b", "not of the form"),
        ("os:system", "not in an allowed package"),
    ],
)
def test_refused_names(kit: Any, path: str, message: str) -> None:
    with pytest.raises(NamedImportError, match=message):
        import_callable(path, [KIT])


def test_private_modules_are_refused_before_they_are_imported() -> None:
    name = "controlroom.devices._never_imported"
    with pytest.raises(NamedImportError, match="private"):
        import_module(name, ["controlroom.devices"])
    assert name not in sys.modules


def test_a_bare_string_is_not_a_list_of_packages() -> None:
    with pytest.raises(TypeError, match="not one string"):
        import_module("controlroom.devices.dummy", "controlroom")


@pytest.mark.parametrize(
    ("module", "may"),
    [
        ("controlroom.devices.tempctl.sim", True),
        ("controlroom.devices", True),
        ("controlroom.devicesx", False),
        ("controlroom.devices._private", False),
        ("controlroom.devices.a-b", False),
        ("os", False),
    ],
)
def test_which_modules_a_configuration_may_name(module: str, may: bool) -> None:
    assert may_name_module(module, ["controlroom.devices"]) is may
    assert "controlroom.devices._private" not in sys.modules
