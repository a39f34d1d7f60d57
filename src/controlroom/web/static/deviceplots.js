// The device page's housekeeping: one TimePlot per chosen parameter, with its limit bands;
// history from the storage manager first (/api/device/<name>/history), then live points
// from the page's WebSocket (hk/<name>). Changing the window fetches the history again.

import { api, el, fmt } from "./app.js";
import { TimePlot } from "./plot.js";

/** Limit bands for TimePlot from a parameter's {ops, nonops}: ok inside ops, warning
 * between ops and nonops, alarm outside nonops (a missing edge is open). */
export function limitBands(info) {
  if (!info) return [];
  const bands = [];
  const [nLow, nHigh] = info.nonops || [null, null];
  const [oLow, oHigh] = info.ops || [null, null];
  if (nLow !== null) bands.push({ low: null, high: nLow, kind: "alarm" });
  if (nHigh !== null) bands.push({ low: nHigh, high: null, kind: "alarm" });
  if (info.ops) {
    if (oLow !== null) bands.push({ low: nLow, high: oLow, kind: "warning" });
    if (oHigh !== null) bands.push({ low: oHigh, high: nHigh, kind: "warning" });
    bands.push({ low: oLow, high: oHigh, kind: "ok" });
  }
  return bands;
}

export class DevicePlots {
  /** device: its name; telemetry: /api/overview's {parameters}; container: where plots go. */
  constructor(device, telemetry, container, note) {
    this.device = device;
    this.telemetry = telemetry.parameters || {};
    this.container = container;
    this.note = note;
    this.windowSeconds = 300;
    this.plots = new Map(); // name -> {plot, figure, latest}
    this.requested = 0;     // only the newest history answer is drawn
  }

  info(name) {
    return this.telemetry[name] || null;
  }

  /** Plot exactly `names` (in that order), fetching history for the new ones. */
  show(names) {
    for (const [name, entry] of this.plots) {
      if (!names.includes(name)) {
        entry.plot.destroy();
        entry.figure.remove();
        this.plots.delete(name);
      }
    }
    const fresh = names.filter((n) => !this.plots.has(n));
    for (const name of fresh) this.plots.set(name, this._make(name));
    for (const name of names) this.container.append(this.plots.get(name).figure);
    if (fresh.length) this.loadHistory(fresh);
  }

  setWindow(seconds) {
    this.windowSeconds = seconds;
    for (const { plot } of this.plots.values()) plot.setWindow(seconds);
    this.loadHistory([...this.plots.keys()]);
  }

  /** A live point; parameters not plotted are ignored. */
  append(name, t, value) {
    const entry = this.plots.get(name);
    if (!entry) return;
    entry.plot.append(name, t, value);
    entry.latest.textContent = fmt(value);
  }

  async loadHistory(names) {
    if (!names.length) return;
    const ticket = ++this.requested;
    const query = new URLSearchParams({
      params: names.join(","), window_s: String(this.windowSeconds), points: "800",
    });
    this.note.textContent = "loading history…";
    let found;
    try {
      found = await api(`/api/device/${encodeURIComponent(this.device)}/history?${query}`);
    } catch (err) {
      if (ticket === this.requested) this.note.textContent = `no history: ${err.message}`;
      return;
    }
    if (ticket !== this.requested) return;
    for (const [name, series] of Object.entries(found.series)) {
      const entry = this.plots.get(name);
      if (!entry) continue;
      entry.plot.setHistory(name, series.times.map((t, i) => [t, series.values[i]]));
      entry.figure.dataset.history = String(series.times.length);
    }
    const missing = Object.entries(found.errors).map(([n, why]) => `${n}: ${why}`);
    this.note.textContent = missing.length ? `not stored: ${missing.join("; ")}` : "";
  }

  /** What each plot holds, for tests: {name: TimePlot.inspect()}. */
  inspect() {
    const out = {};
    for (const [name, { plot }] of this.plots) out[name] = plot.inspect();
    return out;
  }

  _make(name) {
    const info = this.info(name);
    const unit = info ? info.unit : "";
    const canvas = el("canvas", { class: "cr-plot", "aria-label": `${name} over time` });
    const latest = el("span", { class: "latest num", text: "–" });
    const figure = el("figure", { class: "hk-plot", "data-param": name },
      el("figcaption", {},
        el("span", { class: "name", text: name, title: info ? info.description : "" }),
        latest, el("span", { class: "muted", text: unit || "" })),
      canvas);
    this.container.append(figure); // sized by CSS before the plot measures it
    const plot = new TimePlot(canvas, {
      windowSeconds: this.windowSeconds,
      series: [{ name, label: name, unit }],
      limits: limitBands(info),
    });
    return { plot, figure, latest };
  }
}

/** Checkboxes choosing the plotted parameters; onChange(names) after each click. */
export function parameterChoice(container, names, chosen, onChange) {
  const selected = new Set(chosen);
  const boxes = new Map();
  const emit = () => onChange(names.filter((n) => selected.has(n)));
  const add = (name) => {
    if (boxes.has(name)) return;
    const box = el("input", { type: "checkbox", value: name, checked: selected.has(name),
      onchange: () => {
        if (box.checked) selected.add(name);
        else selected.delete(name);
        emit();
      } });
    boxes.set(name, box);
    container.append(el("label", {}, box, ` ${name}`));
  };
  for (const name of names) add(name);
  // A parameter seen live but not in the dictionary joins the list (unchosen).
  return {
    offer(name) {
      if (!names.includes(name)) {
        names.push(name);
        add(name);
      }
    },
  };
}
