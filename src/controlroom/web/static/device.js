// The device page: /device lists the devices (a leased one marked); /device/<name> plots
// its housekeeping (deviceplots.js), shows its lease (devicelease.js), offers every
// command as a form (forms.js) sent through POST /api/device/<name>/command, and shows
// its command journal. While someone else holds the lease the forms are disabled.

import { api, byId, clock, el, fmt, live, nav } from "./app.js";
import { DeviceLease, isLeaseEvent, leaseText } from "./devicelease.js";
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
let meta = null;
let deviceUp = true; // as its light last showed it
let me = null;
let lease = null;
let chooserReading = null; // the chooser's read under way, and whether one more is due
let chooserAgain = false;

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
  }, el("span", { class: `light ${d.up ? "up" : "down"}` }), d.name,
  d.lease ? el("span", { class: "leased-mark", title: leaseText(d.lease), text: "leased" }) : null));
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
    if (err.status === 403) lease.refresh(); // taken by someone since the page last looked
    throw { type: err.status ? `refused (HTTP ${err.status})` : "Error", message: err.message };
  } finally {
    for (const ms of JOURNAL_AFTER_COMMAND_MS) setTimeout(refreshJournal, ms);
  }
  if (!answer.ok) throw answer.error; // {type, message, traceback}: shown in place
  return answer.result;
}

function renderCommands() {
  const cards = meta.commands.map((schema) => {
    const holder = el("div");
    renderCommandForm(holder, schema, { onSubmit: (args) => send(schema.name, args) });
    // A read stays open to all under a lease: the card says which kind it is.
    return el("div", { class: "command-card", "data-command": schema.name,
      "data-access": schema.access || "command" },
    el("h3", { text: schema.name }), el("fieldset", { class: "card-fieldset" }, holder));
  });
  byId("commands").replaceChildren(
    ...(cards.length ? cards : [el("p", { class: "muted", text: "no commands" })]));
  commandAccess();
}

/** Whether this user may send the forms now: their role, and nobody else's lease. */
function commandAccess() {
  const notes = [];
  if (!meta.can_command) {
    notes.push(`You are logged in as ${me.user} (${me.role}): the forms are read-only; ` +
      "commanding a device needs the operator role.");
  }
  const held = Boolean(lease && lease.heldByOther);
  if (held && meta.can_command) {
    notes.push(`${leaseText(lease.lease)}: only reads may be sent until the lease ends; ` +
      "plots and status stay live.");
  }
  if (meta.commands_error) notes.push(meta.commands_error);
  if (!deviceUp) {
    notes.push(`${device} is down: its commands are off until it answers again.`);
  }
  byId("commands-fieldset").disabled = !meta.can_command || !deviceUp;
  for (const card of byId("commands").querySelectorAll(".command-card")) {
    const waits = held && card.dataset.access !== "read";
    card.querySelector(".card-fieldset").disabled = waits || !deviceUp;
    card.classList.toggle("leased", waits);
  }
  byId("commands-note").hidden = notes.length === 0;
  byId("commands-note").textContent = notes.join(" ");
}

/** The chooser's lease marks again; an event during a read asks for one more after it. */
function refreshChooserSoon() {
  if (chooserReading) {
    chooserAgain = true;
    return;
  }
  chooserReading = renderChooser().finally(() => {
    chooserReading = null;
    if (chooserAgain) {
      chooserAgain = false;
      refreshChooserSoon();
    }
  });
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
  const was = byId("device-light").getAttribute("aria-label");
  byId("device-light").className = `light ${up ? "up" : "down"}`;
  byId("device-light").setAttribute("aria-label", up ? "up" : "down");
  if (lease && was !== null && was !== (up ? "up" : "down")) lease.refresh(); // restarted
  if (up !== deviceUp) {
    deviceUp = up; // down means down: its forms are off, and say why
    if (meta) commandAccess();
  }
}

function leaseEvent(m) {
  if (!isLeaseEvent(m)) return;
  if (lease && m.server === device) lease.refresh();
  refreshChooserSoon();
}

function follow() {
  // Every server's events: a lease on another device changes its mark in the chooser.
  const topics = [`hk/${device}`, `server/${device}`, "event/"];
  const take = (m) => {
    if (m.topic.startsWith("hk/")) housekeeping(m);
    else if (m.topic.startsWith("event/")) leaseEvent(m);
    else light(m);
  };
  live(topics, { change: take });
}

async function start() {
  me = await nav("device");
  await renderChooser();
  if (!device) {
    live(["event/"], { change: (m) => { if (isLeaseEvent(m)) refreshChooserSoon(); } });
    return;
  }
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
  lease = new DeviceLease(base, me, commandAccess);
  renderCommands();
  lease.start();
  follow();
  refreshJournal();
  setInterval(refreshJournal, JOURNAL_EVERY_MS);
}

start();
