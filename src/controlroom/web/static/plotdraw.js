// The parts of a TimePlot picture (plot.js): readable ("nice") value ticks, time
// ticks on round clock times, number formatting, and the legend, limit bands,
// axes and lines drawn on a 2D context in CSS pixels.

const TIME_STEPS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
  3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

/** A y range covering lo..hi with a little margin; a flat line gets a visible band. */
export function paddedRange(lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) {
    const half = Math.abs(lo) > 1e-9 ? Math.abs(lo) * 0.01 : 1;
    return [lo - half, hi + half];
  }
  const margin = (hi - lo) * 0.05;
  return [lo - margin, hi + margin];
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Value ticks at 1/2/5 × 10^k, about `count` of them, inside lo..hi. */
export function valueTicks(lo, hi, count) {
  if (!(hi > lo)) return { step: 1, ticks: [lo] };
  const step = niceStep((hi - lo) / Math.max(1, count));
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return { step, ticks };
}

/** Seconds between local time and UTC at t (local = utc - offset). */
function zoneOffset(t, utc) {
  return utc ? 0 : new Date(t * 1000).getTimezoneOffset() * 60;
}

/** Time ticks (seconds since the epoch) at least `minPx` apart, on round clock times. */
export function timeTicks(start, end, widthPx, minPx = 80, utc = false) {
  const span = Math.max(end - start, 1e-3);
  const step = TIME_STEPS.find((s) => (s * widthPx) / span >= minPx) ?? TIME_STEPS.at(-1);
  const offset = zoneOffset(start, utc);
  const ticks = [];
  let t = Math.ceil((start - offset) / step) * step + offset;
  for (; t <= end; t += step) ticks.push(Math.round(t * 10) / 10);
  return { step, ticks };
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** A clock label for a tick: as precise as the tick step needs. */
export function timeLabel(t, step, utc = false) {
  const d = new Date(t * 1000);
  const get = utc
    ? { h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds(), ms: d.getUTCMilliseconds(),
      mo: d.getUTCMonth() + 1, day: d.getUTCDate() }
    : { h: d.getHours(), m: d.getMinutes(), s: d.getSeconds(), ms: d.getMilliseconds(),
      mo: d.getMonth() + 1, day: d.getDate() };
  const hm = `${pad(get.h)}:${pad(get.m)}`;
  if (step < 1) return `${hm}:${pad(get.s)}.${Math.floor(get.ms / 100)}`;
  if (step < 60) return `${hm}:${pad(get.s)}`;
  if (step < 86400) return get.h === 0 && get.m === 0 ? `${pad(get.mo)}-${pad(get.day)} ${hm}` : hm;
  return `${pad(get.mo)}-${pad(get.day)}`;
}

/** A short, readable number: 4–5 significant digits, exponent only when needed. */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(5)));
}

/** A tick label: as many decimals as the tick step shows. */
export function tickLabel(v, step) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

export const finite = (v) => typeof v === "number" && Number.isFinite(v);

/** Legend rows at the top: swatch, label [unit] and latest value; returns its bottom. */
export function drawLegend(ctx, series, width, theme) {
  let cx = 8;
  let cy = 6;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  for (const s of series) {
    const p = s.points;
    const last = p.count ? p.v[p.t.length - 1] : null;
    const text = `${s.label}${s.unit ? ` [${s.unit}]` : ""} ${formatValue(last)}`;
    const w = 14 + ctx.measureText(text).width + 16;
    if (cx + w > width && cx > 8) {
      cx = 8;
      cy += 18;
    }
    ctx.fillStyle = s.color;
    ctx.fillRect(cx, cy + 4, 10, 10);
    ctx.fillStyle = theme.fg;
    ctx.fillText(text, cx + 14, cy + 2);
    cx += w;
  }
  return cy + 18;
}

/** Limit bands: shaded y ranges, open where low or high is not a number. */
export function drawBands(ctx, box, y, bands) {
  for (const b of bands) {
    const top = finite(b.high) ? Math.max(box.top, y(b.high)) : box.top;
    const bottom = finite(b.low) ? Math.min(box.bottom, y(b.low)) : box.bottom;
    if (bottom <= top) continue;
    ctx.fillStyle = b.color;
    ctx.fillRect(box.left, top, box.right - box.left, bottom - top);
  }
}

function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

/** Grid, value labels on the left, clock labels below, and the frame. */
export function drawAxes(ctx, box, theme, { x, y, yTicks, labels, t0, t1, utc }) {
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.fg;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  yTicks.forEach((v, i) => {
    const py = Math.round(y(v)) + 0.5; // half pixels keep 1px lines sharp
    line(ctx, box.left, py, box.right, py);
    ctx.fillText(labels[i], box.left - 6, py);
  });
  const { ticks, step } = timeTicks(t0, t1, box.right - box.left, 80, utc);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks) {
    const px = Math.round(x(t)) + 0.5;
    line(ctx, px, box.top, px, box.bottom);
    ctx.fillText(timeLabel(t, step, utc), px, box.bottom + 6);
  }
  ctx.strokeStyle = theme.fg;
  ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.right - box.left, box.bottom - box.top);
}

/** One series as a line; many points in one pixel column become its min–max stroke. */
export function drawSeries(ctx, s, x, y, t0) {
  const p = s.points;
  ctx.strokeStyle = s.color;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = "round";
  ctx.beginPath();
  let column = null;
  let lo = 0;
  let hi = 0;
  const flush = () => {
    if (column !== null && hi > lo) {
      ctx.lineTo(column, lo);
      ctx.lineTo(column, hi);
    }
  };
  let first = p.head;
  while (first + 1 < p.t.length && p.t[first + 1] < t0) first += 1;
  for (let i = first; i < p.t.length; i += 1) {
    if (p.v[i] === null) { // a gap in the data is a gap in the line
      flush();
      column = null;
      continue;
    }
    const px = x(p.t[i]);
    const py = y(p.v[i]);
    const c = Math.round(px);
    if (c === column) {
      lo = Math.min(lo, py);
      hi = Math.max(hi, py);
      continue;
    }
    flush();
    if (column === null) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
    column = c;
    lo = py;
    hi = py;
  }
  flush();
  ctx.stroke();
}
