// The overview: status lights (a leased device marked), HK with limit colours, Setup and
// obsid, latest events.

import { api, band, byId, clock, el, fmt, live, nav, onNextFrame } from "./app.js";

const EVENTS_SHOWN = 50;
const topics = new Map();   // topic -> latest body
let events = [];            // newest first
let meta = { parameters: {}, aliases: {}, site: "" };
let leases = new Map();     // device -> its lease {holder, until, ...}, from /api/device
let leasesReading = null;  // the read under way, and whether one more is due after it
let leasesAgain = false;

function describe(name, server) {
  const origin = server.toUpperCase();
  const canonical = (meta.aliases[origin] || {})[name] || name;
  return { canonical, info: meta.parameters[canonical] || null };
}

function byKind(kind) {
  return [...topics.values()]
    .filter((m) => m.topic.startsWith(`${kind}/`))
    .sort((a, b) => a.server.localeCompare(b.server));
}

function renderContext() {
  const confman = topics.get("status/confman");
  const values = confman ? confman.values : {};
  byId("site").textContent = values.site || meta.site || "–";
  byId("setup-id").textContent = fmt(values.setup_id ?? null);
  byId("obsid").textContent = values.obsid || "none running";
}

function renderServers() {
  const rows = byKind("server").map((m) => {
    const v = m.values;
    return el("tr", { "data-server": m.server, title: v.error || v.commands || "" },
      el("td", {}, el("span", { class: `light ${v.up ? "up" : "down"}`,
                                "aria-label": v.up ? "up" : "down" })),
      el("td", {}, v.kind === "device"
        ? el("a", { href: `/device/${encodeURIComponent(m.server)}`, text: m.server })
        : m.server, leasedMark(m.server)),
      el("td", { class: "muted", text: v.kind || "" }),
      el("td", { class: "muted", text: clock(v.since) }));
  });
  byId("servers").replaceChildren(...rows);
}

function leasedMark(server) {
  const lease = leases.get(server);
  if (!lease) return null;
  const title = `leased by ${lease.holder} until ${String(lease.until).slice(11, 19)}Z`;
  return el("span", { class: "leased-mark", title, text: "leased" });
}

/** Who holds which device, read again; an event during a read asks for one more after it. */
function readLeases() {
  if (leasesReading) {
    leasesAgain = true;
    return;
  }
  leasesReading = api("/api/device").then((devices) => {
    leases = new Map(devices.filter((d) => d.lease).map((d) => [d.name, d.lease]));
    later();
  }, () => {}) // the marks stay as they were; the next lease event asks again
    .finally(() => {
      leasesReading = null;
      if (leasesAgain) {
        leasesAgain = false;
        readLeases();
      }
    });
}

function renderHousekeeping() {
  const rows = [];
  for (const m of byKind("hk")) {
    for (const [name, value] of Object.entries(m.values)) {
      if (name.startsWith("_")) continue;  // reserved entries (limits, synoptics)
      const { canonical, info } = describe(name, m.server);
      const colour = band(value, info);
      rows.push(el("tr", { "data-param": `${m.server}/${canonical}` },
        el("td", { class: "muted", text: m.server }),
        el("td", { text: canonical, title: info ? info.description : "" }),
        el("td", { class: `num value ${colour}`, text: fmt(value) }),
        el("td", { class: "muted", text: info ? info.unit : "" }),
        el("td", { class: "muted", text: clock(m.time) })));
    }
  }
  byId("hk").replaceChildren(...rows);
}

function eventRow(m) {
  const { event, ...data } = m.values;
  if (event === "limit") {
    const severe = data.band === "non_operational" && data.state === "entered_alarm";
    const text = `${data.parameter} ${data.state.replaceAll("_", " ")} (${data.band} band` +
      `${data.side ? `, ${data.side}` : ""}): ${fmt(data.value)} ${data.unit || ""}`;
    return el("tr", { class: `crossing${severe ? " alarm" : ""}` },
      el("td", { class: "muted", text: clock(m.time) }), el("td", { text: m.server }),
      el("td", { text: "limit" }), el("td", { text }));
  }
  return el("tr", {},
    el("td", { class: "muted", text: clock(m.time) }), el("td", { text: m.server }),
    el("td", { text: event || "?" }), el("td", { class: "muted", text: JSON.stringify(data) }));
}

function renderEvents() {
  byId("events").replaceChildren(...events.map(eventRow));
}

function render() {
  renderContext();
  renderServers();
  renderHousekeeping();
  renderEvents();
}

const later = onNextFrame(render);

function snapshot(s) {
  topics.clear();
  for (const [topic, body] of Object.entries(s.topics)) topics.set(topic, body);
  events = s.events.slice().reverse().slice(0, EVENTS_SHOWN);
  later();
}

function change(m) {
  topics.set(m.topic, m);
  if (m.topic.startsWith("event/")) {
    events = [m, ...events].slice(0, EVENTS_SHOWN);
    if (String(m.values.event || "").startsWith("lease_")) readLeases();
  }
  later();
}

async function start() {
  await nav("overview");
  meta = await api("/api/overview");
  readLeases();
  live(["server/", "status/confman", "hk/", "event/"], { snapshot, change });
}

start();
