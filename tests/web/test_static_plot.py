"""Live time plots on a canvas, in real Chromium (plot.js)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from static_widget_helpers import artifacts, chromium, open_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


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


PLOT = """(options) => {
  window.plot = new widgets.TimePlot(document.getElementById("plot"), options);
}"""

# Counts pixels close to an RGB colour: proof that something was drawn in it.
PIXELS_LIKE = """([r, g, b, tolerance]) => {
  const canvas = document.getElementById("plot");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b);
    if (d <= tolerance) n += 1;
  }
  return n;
}"""

NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"

T0 = 1_700_000_000.0


def _temperatures(page: Page, window_s: float = 60, limits: list[Any] | None = None) -> None:
    series = [
        {"name": "TEMP_A", "label": "stage", "unit": "K", "color": "#d62728"},
        {"name": "TEMP_B", "label": "shield", "unit": "K", "color": "#1f77b4"},
    ]
    page.evaluate(PLOT, {"windowSeconds": window_s, "series": series, "limits": limits or []})
    history = [[T0 + i, 20.0 + 0.05 * i] for i in range(30)]
    page.evaluate("(h) => plot.setHistory('TEMP_A', h)", history)
    page.evaluate("(h) => plot.setHistory('TEMP_B', h.map(([t, v]) => [t, v - 3]))", history)
    for i in range(30, 40):
        page.evaluate("([t, v]) => plot.append('TEMP_A', t, v)", [T0 + i, 21.5 - 0.05 * i])
    page.evaluate("() => plot.drawNow()")


def test_a_plot_draws_its_series_and_scales_to_their_values(page: Page) -> None:
    _temperatures(page, limits=[{"low": 21.2, "high": None, "kind": "alarm"}])
    state = page.evaluate("plot.inspect()")
    low, high = state["yRange"]
    assert low <= 17.0 < 21.45 <= high  # TEMP_B starts at 17.0, TEMP_A peaks at 21.45
    assert state["series"]["TEMP_A"]["count"] == 40
    assert state["tRange"][1] == T0 + 39
    assert page.evaluate(PIXELS_LIKE, [0xD6, 0x27, 0x28, 60]) > 100  # the TEMP_A line
    assert page.evaluate(PIXELS_LIKE, [0x1F, 0x77, 0xB4, 60]) > 100  # the TEMP_B line
    assert page.evaluate(PIXELS_LIKE, [249, 220, 220, 12]) > 1000  # the alarm band
    page.screenshot(path=str(artifacts() / "plot.png"), full_page=True)


def test_points_older_than_the_window_are_dropped(page: Page) -> None:
    page.evaluate(PLOT, {"windowSeconds": 10})
    page.evaluate(
        "(t0) => { for (let i = 0; i < 2000; i += 1) plot.append('P', t0 + i / 10, Math.sin(i)); }",
        T0,
    )
    state = page.evaluate("plot.inspect()")["series"]["P"]
    last = T0 + 199.9
    assert state["lastT"] == pytest.approx(last)
    # Only the window is kept, plus one point before it so the line meets the left edge.
    assert state["firstT"] >= last - 10 - 0.1 - 1e-6
    assert state["count"] <= 10 * 10 + 2


def test_history_arriving_after_live_points_keeps_them(page: Page) -> None:
    page.evaluate(PLOT, {"windowSeconds": 600})
    page.evaluate("() => plot.drawNow()")  # an empty plot says so instead of failing
    page.evaluate("(t) => plot.append('P', new Date(t * 1000), 5)", T0 + 100)
    history = [{"t": T0 + i, "value": float(i)} for i in range(100)]
    page.evaluate("(h) => plot.setHistory('P', h)", history)
    state = page.evaluate("plot.inspect()")["series"]["P"]
    assert (state["count"], state["firstT"], state["lastT"]) == (101, T0, T0 + 100)
    assert (state["min"], state["max"]) == (0, 99)


def test_redraws_are_coalesced_into_animation_frames(page: Page) -> None:
    _temperatures(page)
    page.evaluate(NEXT_FRAME)
    before = page.evaluate("plot.inspect().draws")
    page.evaluate(
        "(t0) => { for (let i = 0; i < 500; i++) plot.append('TEMP_A', t0 + 40 + i / 100, 20); }",
        T0,
    )
    page.evaluate(NEXT_FRAME)
    assert 1 <= page.evaluate("plot.inspect().draws") - before <= 2


def test_a_plot_is_sharp_on_hidpi_and_follows_resizes(browser: Browser) -> None:
    page = open_page(browser, scale=2)
    try:
        _temperatures(page)
        assert page.evaluate("plot.inspect().canvas") == [1200, 600]
        page.evaluate("document.getElementById('plot').style.width = '400px'")
        page.wait_for_function("() => plot.inspect().canvas[0] === 800")
        assert page.evaluate(PIXELS_LIKE, [0xD6, 0x27, 0x28, 60]) > 100
        page.screenshot(path=str(artifacts() / "plot-hidpi.png"), full_page=True)
    finally:
        page.close()
