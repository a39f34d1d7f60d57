"""Command forms generated from real command schemas, in real Chromium (forms.js)."""

from __future__ import annotations

import enum
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from static_widget_helpers import artifacts, chromium, open_page

from controlroom.device import Interface, command, in_range, max_length
from controlroom.devices.dummy.sensor import DummyFault, DummySensor
from controlroom.devices.tempctl.driver import TempCtlController

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Bench(Interface):
    """A stand-in device whose one command takes every kind of argument a form handles."""

    @command()
    def configure(
        self,
        gains: list[float],
        count: Annotated[int, in_range(1, 10)],
        mode: Mode = Mode.SLOW,
        enabled: bool = True,
        offset: float | None = None,
        label: Annotated[str, max_length(8)] = "bench",
    ) -> dict[str, Any]:
        """Configure the bench in one go."""
        return {}


# One browser per test: Chromium starts helper processes lazily, and the suite's
# leftover-process check must see all of them gone when each test ends.
@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = open_page(browser)
    yield opened
    opened.close()


RENDER = """([schema, outcome]) => {
  window.submitted = [];
  window.form = widgets.renderCommandForm(document.getElementById("form"), schema, {
    onSubmit: (args) => {
      window.submitted.push(args);
      return outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error);
    },
  });
}"""


def _render(page: Page, schema: dict[str, Any], outcome: dict[str, Any] | None = None) -> None:
    page.evaluate(RENDER, [schema, outcome or {"ok": True, "value": None}])


def _field(page: Page, name: str) -> str:
    return f'.cr-field[data-param="{name}"]'


def test_every_shipped_command_schema_renders_a_form(page: Page) -> None:
    specs = [*DummySensor.commands().values(), *TempCtlController.commands().values()]
    for spec in specs:
        schema = spec.schema()
        _render(page, schema)
        names = page.eval_on_selector_all(".cr-field", "els => els.map(e => e.dataset.param)")
        assert names == schema["params"]["x-order"], spec.name


def test_a_number_out_of_range_is_named_next_to_its_field(page: Page) -> None:
    _render(page, DummySensor.commands()["set_offset"].schema())
    assert page.locator(f"{_field(page, 'offset')} .cr-required").count() == 1
    assert "in [-100, 100]" in page.inner_text(f"{_field(page, 'offset')} .cr-help")
    page.fill("#form [name=offset]", "150")
    page.click("#form .cr-submit")
    message = page.inner_text(f"{_field(page, 'offset')} .cr-field-error")
    assert "out of range" in message
    assert "150" in message
    assert "100" in message
    assert page.evaluate("window.submitted") == []
    page.screenshot(path=str(artifacts() / "form-out-of-range.png"), full_page=True)

    page.fill("#form [name=offset]", "12.5")  # editing clears the message
    assert page.inner_text(f"{_field(page, 'offset')} .cr-field-error") == ""

    page.fill("#form [name=offset]", "")
    page.type("#form [name=offset]", "1e")  # the browser cannot read this number
    page.click("#form .cr-submit")
    assert page.inner_text(f"{_field(page, 'offset')} .cr-field-error") == "not a number"
    assert page.evaluate("window.submitted") == []


def test_an_empty_required_field_is_reported_as_required(page: Page) -> None:
    _render(page, DummySensor.commands()["busy"].schema())
    page.click("#form .cr-submit")
    assert page.inner_text(f"{_field(page, 'seconds')} .cr-field-error") == "required"
    assert page.evaluate("window.submitted") == []


def test_submit_passes_typed_arguments_the_server_accepts(page: Page) -> None:
    spec = Bench.commands()["configure"]
    _render(page, spec.schema(), {"ok": True, "value": {"applied": True, "gains": 3}})
    page.fill("#form [name=gains]", "1, 2.5, -3")
    page.fill("#form [name=count]", "4")
    page.select_option("#form [name=mode]", label="FAST (fast)")  # names shown, values sent
    page.uncheck("#form [name=enabled]")
    page.click("#form .cr-submit")
    page.wait_for_selector("#form .cr-outcome.cr-ok")

    sent = page.evaluate("window.submitted")
    expected = {"gains": [1, 2.5, -3], "count": 4, "mode": "fast", "enabled": False}
    assert sent == [{**expected, "offset": None, "label": "bench"}]  # blank nullable: None
    assert page.evaluate("Number.isInteger(window.submitted[0].count)")
    bound = spec.bind((), sent[0])  # what the control server would do with them
    assert bound["mode"] is Mode.FAST
    assert bound["gains"] == [1.0, 2.5, -3.0]
    assert '"applied": true' in page.inner_text("#form .cr-result")
    page.screenshot(path=str(artifacts() / "form-result.png"), full_page=True)


def test_a_nullable_enum_offers_none_and_keeps_its_default(page: Page) -> None:
    _render(page, TempCtlController.commands()["set_output_mode"].schema())
    select = "#form [name=input]"
    assert page.eval_on_selector(select, "s => s.selectedOptions[0].textContent") == "A"
    page.select_option("#form [name=output]", label="2")
    page.select_option("#form [name=mode]", label="CLOSED_LOOP (1)")
    page.select_option(select, label="(none)")
    page.click("#form .cr-submit")
    sent = page.evaluate("window.submitted")
    assert sent == [{"output": 2, "mode": 1, "input": None, "powerup_enable": False}]


def test_a_remote_error_is_shown_in_place(page: Page) -> None:
    with pytest.raises(DummyFault) as caught:
        DummySensor().fail("the heater is open")
    remote = "".join(traceback.format_exception(caught.value))
    error = {"type": caught.type.__name__, "message": str(caught.value), "traceback": remote}
    _render(page, DummySensor.commands()["fail"].schema(), {"ok": False, "error": error})
    assert page.input_value("#form [name=message]") == "the dummy failed on purpose"
    page.click("#form .cr-submit")
    box = page.wait_for_selector("#form .cr-remote-error")
    assert box is not None
    assert page.inner_text("#form .cr-error-type") == "DummyFault"
    assert page.inner_text("#form .cr-error-message") == "the heater is open"
    page.click("#form .cr-traceback summary")
    assert "Traceback" in page.inner_text("#form .cr-traceback pre")
    page.screenshot(path=str(artifacts() / "form-remote-error.png"), full_page=True)

    page.evaluate("form.showError('connection lost')")
    assert page.inner_text("#form .cr-remote-error") == "Error: connection lost"


def test_validate_names_the_problem_for_reuse(page: Page) -> None:
    schema = Bench.commands()["configure"].schema()
    result = page.evaluate(
        "(s) => widgets.validate(s, {gains: '1, x', count: 'abc', label: 'far too long'})", schema
    )
    assert result["ok"] is False
    assert result["errors"] == {
        "gains": "item 2: not a number: 'x'",
        "count": "not a number: 'abc'",
        "label": "too long: 12 characters, at most 8",
    }
