// The device page: /device lists the devices; /device/<name> plots its housekeeping
// (deviceplots.js), offers every command as a form (forms.js) sent through
// POST /api/device/<name>/command, and shows its command journal.

import { api, byId, clock, el, fmt, live, nav } from "./app.js";
import { DevicePlots, parameterChoice } from "./deviceplots.js";
import { renderCommandForm } from "./forms.js";

const DEFAULT_PLOTS = 3;
const JOURNAL_EVERY_MS = 5000;
const JOURNAL_AFTER_COMMAND_MS = [300, 1500]; // the journal row reaches storage in a batch
const WINDOWS = ["300", "3600", "86400"];

const device = decodeURIComponent(location.pathname.split("/")[2] || "");
const base = `/api/device/${encodeURIComponent(device)}`;
let aliases = {}; // raw HK name -> canonical, for this device's origin
let plots = null;
let choice = null;

async function renderChooser() {
  let devices = [];
  try {
    devices = await api("/api/device");
  } catch (err) {
    byId("choose-note").textContent = err.message;
    return;
  }
  const links = devices.map((d) => el("a", {
    href: `/device/${encodeURIComponent(d.name)}`, "data-device": d.name,
    class: d.name === device ? "current" : null,
  }, el("span", { class: `light ${d.up ? "up" : "down"}` }), d.name));
  byId("device-list").replaceChildren(
    ...(links.length ? links : [el("span", { class: "muted", text: "no devices found yet" })]));
}

function argumentsText(text) {
  try {
    const { args = [], kwargs = {} } = JSON.parse(text);
    return [...args.map(fmt), ...Object.entries(kwargs).map(([k, v]) => `${k}=${fmt(v)}`)]
      .join(", ");
  } catch {
    return text || "";
  }
}

function journalRow(e) {
  const failed = e.outcome !== "ok";
  const what = failed ? `${e.error_type}: ${e.error_message}` : (e.value ?? "");
  const ms = typeof e.duration_s === "number" ? (e.duration_s * 1000).toFixed(1) : "";
  return el("tr", { "data-command": e.command, class: failed ? "failed" : null },
    el("td", { class: "muted", text: clock(e.time) }),
    el("td", { text: e.command }),
    el("td", { class: "args", text: argumentsText(e.arguments) }),
    el("td", { class: `outcome-${failed ? "error" : "ok"}`, text: e.outcome }),
    el("td", { class: "what", text: what }),
    el("td", { class: "num", text: ms }));
}

async function refreshJournal() {
  try {
    const { entries } = await api(`${base}/journal?limit=50`);
    byId("journal").replaceChildren(...entries.map(journalRow));
    byId("journal-note").textContent = entries.length ? "" : "no commands stored yet";
  } catch (err) {
    byId("journal-note").textContent = `journal unavailable: ${err.message}`;
  }
}

async function send(command, args) {
  let answer;
  try {
    answer = await api(`${base}/command`, { method: "POST", body: { command, args } });
  } catch (err) {
    throw { type: err.status ? `refused (HTTP ${err.status})` : "Error", message: err.message };
  } finally {
    for (const ms of JOURNAL_AFTER_COMMAND_MS) setTimeout(refreshJournal, ms);
  }
  if (!answer.ok) throw answer.error; // {type, message, traceback}: shown in place
  return answer.result;
}

function renderCommands(meta, me) {
  const cards = meta.commands.map((schema) => {
    const holder = el("div");
    renderCommandForm(holder, schema, { onSubmit: (args) => send(schema.name, args) });
    return el("div", { class: "command-card", "data-command": schema.name },
      el("h3", { text: schema.name }), holder);
  });
  byId("commands").replaceChildren(
    ...(cards.length ? cards : [el("p", { class: "muted", text: "no commands" })]));
  const notes = [];
  if (!meta.can_command) {
    notes.push(`You are logged in as ${me.user} (${me.role}): the forms are read-only; ` +
      "commanding a device needs the operator role.");
  }
  if (meta.commands_error) notes.push(meta.commands_error);
  byId("commands-fieldset").disabled = !meta.can_command;
  byId("commands-note").hidden = notes.length === 0;
  byId("commands-note").textContent = notes.join(" ");
}

function chosenFromUrl(names) {
  const query = new URLSearchParams(location.search);
  const given = (query.get("params") || "").split(",").filter(Boolean);
  const windowS = WINDOWS.includes(query.get("window")) ? query.get("window") : WINDOWS[0];
  return { params: given.length ? given : names.slice(0, DEFAULT_PLOTS), windowS };
}

function remember(params, windowS) {
  const query = new URLSearchParams({ window: windowS, params: params.join(",") });
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function setupPlots(meta, telemetry) {
  const names = meta.parameters.slice();
  const { params, windowS } = chosenFromUrl(names);
  for (const p of params) if (!names.includes(p)) names.push(p);
  plots = new DevicePlots(device, telemetry, byId("plots"), byId("history-note"));
  plots.windowSeconds = Number(windowS);
  byId("window").value = windowS;
  let current = params;
  choice = parameterChoice(byId("param-choice"), names, params, (chosen) => {
    current = chosen;
    plots.show(chosen);
    remember(chosen, byId("window").value);
  });
  byId("window").addEventListener("change", () => {
    plots.setWindow(Number(byId("window").value));
    remember(current, byId("window").value);
  });
  plots.show(params);
  window.crDevice = { plots }; // for tests and the console: crDevice.plots.inspect()
}

function housekeeping(m) {
  for (const [raw, value] of Object.entries(m.values || {})) {
    if (raw.startsWith("_")) continue; // reserved entries (limits, synoptics)
    const name = aliases[raw] || raw;
    if (typeof value === "number") choice.offer(name);
    plots.append(name, m.time, value);
  }
}

function light(m) {
  const up = Boolean(m.values && m.values.up);
  byId("device-light").className = `light ${up ? "up" : "down"}`;
  byId("device-light").setAttribute("aria-label", up ? "up" : "down");
}

function follow() {
  const topics = [`hk/${device}`, `server/${device}`];
  const take = (m) => (m.topic.startsWith("hk/") ? housekeeping(m) : light(m));
  live(topics, { change: take });
}

async function start() {
  const me = await nav("device");
  await renderChooser();
  if (!device) return;
  let meta;
  let telemetry;
  try {
    [meta, telemetry] = await Promise.all([api(base), api("/api/overview")]);
  } catch (err) {
    byId("choose-note").textContent = err.message;
    return;
  }
  document.title = `controlroom · ${device}`;
  byId("device").hidden = false;
  byId("device-name").textContent = device;
  byId("device-origin").textContent = meta.origin;
  aliases = telemetry.aliases[meta.origin] || {};
  light({ values: { up: meta.up } });
  setupPlots(meta, telemetry);
  renderCommands(meta, me);
  follow();
  refreshJournal();
  setInterval(refreshJournal, JOURNAL_EVERY_MS);
}

start();
