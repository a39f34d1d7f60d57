// Live time-series plot on a <canvas>: history first, then live points. The time
// window follows the newest point, memory stays bounded (points older than the
// window are dropped), and redraws are coalesced to one per animation frame
// however fast points arrive.

import {
  drawAxes, drawBands, drawLegend, drawSeries, finite, paddedRange, tickLabel, valueTicks,
} from "./plotdraw.js";

const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const BAND_COLOURS = {
  alarm: "rgba(220, 40, 40, 0.16)",
  warning: "rgba(240, 170, 0, 0.18)",
  ok: "rgba(40, 170, 80, 0.12)",
};
const FONT = "12px system-ui, sans-serif";

/** Seconds since the epoch from a number (seconds), a Date or an ISO string. */
function toSeconds(t) {
  if (typeof t === "number") return t;
  if (t instanceof Date) return t.getTime() / 1000;
  return Date.parse(t) / 1000;
}

/** One series' points: parallel arrays with a moving start, compacted now and then. */
class Points {
  constructor() {
    this.t = [];
    this.v = [];
    this.head = 0;
  }

  get count() { return this.t.length - this.head; }

  get lastT() { return this.count ? this.t[this.t.length - 1] : -Infinity; }

  push(t, v) {
    let i = this.t.length;
    while (i > this.head && this.t[i - 1] > t) i -= 1; // a late point keeps time order
    this.t.splice(i, 0, t);
    this.v.splice(i, 0, v);
  }

  /** Drop points before `start` but the last one, so the line still meets the left edge. */
  dropBefore(start, maxPoints) {
    while (this.count > 1 && this.t[this.head + 1] <= start) this.head += 1;
    if (this.count > maxPoints) this.head += this.count - maxPoints;
    if (this.head > 1024 && this.head * 2 > this.t.length) {
      this.t = this.t.slice(this.head);
      this.v = this.v.slice(this.head);
      this.head = 0;
    }
  }

  values() { return this.v.slice(this.head).filter(finite); }
}

function toPairs(points) {
  const pairs = points.map((p) => (Array.isArray(p)
    ? [toSeconds(p[0]), p[1]]
    : [toSeconds(p.t), p.value ?? p.v]));
  return pairs.sort((a, b) => a[0] - b[0]);
}

export class TimePlot {
  /**
   * canvas: a <canvas> sized by CSS; its drawing buffer follows that size × devicePixelRatio.
   * options: windowSeconds=300; series=[{name, label, unit, color}]; limits=[band] (see
   * setLimits); yRange=null ([lo, hi] fixes the y axis); fitLimits=false (stretch the auto
   * range to band edges); maxPoints=200000 per series; utc=false (clock labels in UTC).
   */
  constructor(canvas, options = {}) {
    this.canvas = canvas;
    this.windowSeconds = options.windowSeconds ?? 300;
    this.yRange = options.yRange ?? null;
    this.fitLimits = options.fitLimits ?? false;
    this.maxPoints = options.maxPoints ?? 200000;
    this.utc = options.utc ?? false;
    this.series = new Map();
    this.limits = [];
    this.draws = 0;
    this._frame = 0;
    this._view = null;
    for (const s of options.series ?? []) this.addSeries(s.name, s);
    this.setLimits(options.limits ?? []);
    this._onResize = () => this._schedule();
    window.addEventListener("resize", this._onResize); // also fires when devicePixelRatio changes
    if (typeof ResizeObserver !== "undefined") {
      this._observer = new ResizeObserver(this._onResize);
      this._observer.observe(canvas);
    }
    this._schedule();
  }

  addSeries(name, { label, unit = "", color } = {}) {
    if (!this.series.has(name)) {
      const colour = color ?? PALETTE[this.series.size % PALETTE.length];
      const points = new Points();
      this.series.set(name, { name, label: label ?? name, unit, color: colour, points });
      this._schedule();
    }
    return this.series.get(name);
  }

  /** Replace a series' points with history: [[t, v], ...] or [{t, value}]. Live points
   * newer than the history are kept, so history may arrive after the first live points. */
  setHistory(name, points) {
    const s = this.addSeries(name);
    const old = s.points;
    const fresh = new Points();
    for (const [t, v] of toPairs(points)) fresh.push(t, finite(v) ? v : null);
    const historyEnd = fresh.lastT;
    for (let i = old.head; i < old.t.length; i += 1) {
      if (old.t[i] > historyEnd) fresh.push(old.t[i], old.v[i]);
    }
    s.points = fresh;
    this._prune();
    this._schedule();
  }

  /** One live point; t in seconds since the epoch (or a Date or ISO string). A null or
   * NaN value leaves a gap in the line. */
  append(name, t, value) {
    const s = this.addSeries(name);
    s.points.push(toSeconds(t), finite(value) ? value : null);
    s.points.dropBefore(this.end() - this.windowSeconds, this.maxPoints);
    this._schedule();
  }

  setWindow(seconds) {
    this.windowSeconds = seconds;
    this._prune();
    this._schedule();
  }

  /** Shaded y ranges [{low, high, kind: "alarm"|"warning"|"ok", color}]; a null end is open. */
  setLimits(bands) {
    this.limits = bands.map((b) => ({
      ...b, color: b.color ?? BAND_COLOURS[b.kind ?? "alarm"] ?? BAND_COLOURS.alarm,
    }));
    this._schedule();
  }

  clear() {
    for (const s of this.series.values()) s.points = new Points();
    this._schedule();
  }

  /** The newest time of any series: the right edge of the window. */
  end() {
    let end = -Infinity;
    for (const s of this.series.values()) end = Math.max(end, s.points.lastT);
    return end;
  }

  /** What is stored and what the last drawing showed, for tests and diagnostics. */
  inspect() {
    const series = {};
    for (const s of this.series.values()) {
      const p = s.points;
      const values = p.values();
      series[s.name] = {
        count: p.count,
        firstT: p.count ? p.t[p.head] : null,
        lastT: p.count ? p.lastT : null,
        min: values.length ? Math.min(...values) : null,
        max: values.length ? Math.max(...values) : null,
      };
    }
    const view = this._view;
    return {
      windowSeconds: this.windowSeconds, draws: this.draws, series,
      yRange: view ? view.y : null, tRange: view ? view.t : null,
      canvas: [this.canvas.width, this.canvas.height], dpr: window.devicePixelRatio || 1,
    };
  }

  destroy() {
    if (this._frame) cancelAnimationFrame(this._frame);
    window.removeEventListener("resize", this._onResize);
    if (this._observer) this._observer.disconnect();
  }

  _prune() {
    const start = this.end() - this.windowSeconds;
    for (const s of this.series.values()) s.points.dropBefore(start, this.maxPoints);
  }

  _schedule() {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this.drawNow();
    });
  }

  _valueRange(start) {
    if (this.yRange) return this.yRange;
    let lo = Infinity;
    let hi = -Infinity;
    for (const { points: p } of this.series.values()) {
      for (let i = p.head; i < p.t.length; i += 1) {
        if (p.t[i] < start || p.v[i] === null) continue;
        lo = Math.min(lo, p.v[i]);
        hi = Math.max(hi, p.v[i]);
      }
    }
    const edges = this.fitLimits ? this.limits.flatMap((b) => [b.low, b.high]).filter(finite) : [];
    return paddedRange(Math.min(lo, ...edges), Math.max(hi, ...edges));
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth || this.canvas.width / dpr;
    const height = this.canvas.clientHeight || this.canvas.height / dpr;
    const w = Math.max(1, Math.round(width * dpr));
    const h = Math.max(1, Math.round(height * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0); // draw in CSS pixels, sharp on HiDPI screens
    return { ctx, width, height };
  }

  _theme() {
    const style = getComputedStyle(this.canvas);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return {
      bg: read("--cr-plot-bg", "#ffffff"),
      fg: read("--cr-plot-fg", "#222222"),
      grid: read("--cr-plot-grid", "#e4e4e4"),
    };
  }

  /** Draw at once (otherwise drawing waits for the next animation frame). */
  drawNow() {
    this.draws += 1;
    this._prune();
    const { ctx, width, height } = this._resize();
    const theme = this._theme();
    ctx.font = FONT;
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, width, height);
    const legendBottom = drawLegend(ctx, this.series.values(), width, theme);
    const end = this.end();
    const t1 = Number.isFinite(end) ? end : Date.now() / 1000;
    const t0 = t1 - this.windowSeconds;
    const [y0, y1] = this._valueRange(t0);
    const tickCount = Math.max(2, Math.floor((height - legendBottom) / 40));
    const { ticks: yTicks, step: yStep } = valueTicks(y0, y1, tickCount);
    const labels = yTicks.map((v) => tickLabel(v, yStep));
    const left = 10 + Math.max(30, ...labels.map((l) => ctx.measureText(l).width));
    const box = { left, top: legendBottom + 6, right: width - 12, bottom: height - 24 };
    if (box.right - box.left < 10 || box.bottom - box.top < 10) return;
    const x = (t) => box.left + ((t - t0) / (t1 - t0)) * (box.right - box.left);
    const y = (v) => box.bottom - ((v - y0) / (y1 - y0)) * (box.bottom - box.top);
    this._view = { t: [t0, t1], y: [y0, y1] };
    drawBands(ctx, box, y, this.limits);
    drawAxes(ctx, box, theme, { x, y, yTicks, labels, t0, t1, utc: this.utc });
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    ctx.clip();
    for (const s of this.series.values()) drawSeries(ctx, s, x, y, t0);
    ctx.restore();
    if (!Number.isFinite(end)) {
      ctx.textAlign = "center";
      ctx.fillText("no data yet", (box.left + box.right) / 2, (box.top + box.bottom) / 2);
    }
  }
}
