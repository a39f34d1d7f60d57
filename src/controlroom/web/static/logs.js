// The Logs page: the last records from the log manager, then every new one live (newest first).

import { api, byId, el, live, nav, onNextFrame } from "./app.js";

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };
const KEPT = 2000;  // records kept on the page, whatever the filters
let records = [];   // newest first
let keys = new Set();
let waiting = null; // live records that arrive while the last ones are being fetched
let fresh = new Set();
let asked = 0;

function key(r) {
  return `${r.time}|${r.pid}|${r.host}|${r.message}`;
}

function globRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replaceAll("*", ".*").replaceAll("?", ".")}$`);
}

function filters() {
  const level = byId("level").value;
  const server = byId("server").value.trim();
  return { level, server, least: LEVELS[level] || 0, match: server ? globRegExp(server) : null };
}

function passes(r, f) {
  const levelno = typeof r.levelno === "number" ? r.levelno : LEVELS[r.level] || 0;
  return levelno >= f.least && (!f.match || f.match.test(String(r.server)));
}

function add(r, f) {
  const k = key(r);
  if (!passes(r, f) || keys.has(k)) return;
  records.unshift(r);
  keys.add(k);
  fresh.add(k);
  if (records.length > KEPT) {
    records = records.slice(0, KEPT);
    keys = new Set(records.map(key));
  }
}

function row(r) {
  const when = String(r.time || "").replace("T", " ").replace("Z", "").slice(0, 23);
  const message = el("td", { class: "message", text: r.message });
  if (r.exception) message.append(el("pre", { class: "exception", text: r.exception }));
  return el("tr", { class: `level-${r.level}${fresh.has(key(r)) ? " fresh" : ""}`,
                    "data-level": r.level, "data-server": r.server || "" },
    el("td", { class: "muted", text: when }),
    el("td", { class: "level", text: r.level }),
    el("td", { text: r.server || "–" }),
    el("td", { class: "muted", text: r.obsid || "" }),
    el("td", { class: "muted", text: r.logger || "" }),
    message);
}

function render() {
  if (byId("pause").checked) return;
  const shown = Math.min(records.length, Number(byId("lines").value));
  byId("records").replaceChildren(...records.slice(0, shown).map(row));
  byId("count").textContent = `${shown} record${shown === 1 ? "" : "s"}, newest first`;
  fresh = new Set();
}

const later = onNextFrame(render);

// The last records from the files; live ones that arrive meanwhile are merged after.
async function reload() {
  const ticket = ++asked;
  waiting = [];
  const f = filters();
  const query = new URLSearchParams({ n: byId("lines").value });
  if (f.level) query.set("level", f.level);
  if (f.server) query.set("server", f.server);
  try {
    const answer = await api(`/api/logs?${query}`);
    if (ticket !== asked) return;  // the filters changed meanwhile: a newer answer comes
    byId("error").textContent = "";
    records = answer.records.slice().reverse();
    keys = new Set(records.map(key));
    fresh = new Set();
    byId("servers").replaceChildren(...answer.servers.map((s) => el("option", { value: s })));
  } catch (error) {
    if (ticket !== asked) return;
    byId("error").textContent = error.message;
  }
  for (const r of waiting) add(r, f);
  waiting = null;
  later();
}

function change(m) {
  const record = m.values;
  if (!record || typeof record.message !== "string") return;
  if (waiting) waiting.push(record);
  else {
    add(record, filters());
    later();
  }
}

async function start() {
  await nav("logs");
  for (const id of ["level", "lines"]) byId(id).addEventListener("change", reload);
  byId("server").addEventListener("change", reload);
  byId("pause").addEventListener("change", later);
  byId("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
  // A snapshot comes first and after every reconnect or overflow: ask for the last ones again.
  live(["log/"], { snapshot: reload, change });
}

start();
