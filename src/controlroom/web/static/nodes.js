// The Nodes page: /nodes lists the sensor nodes behind the node bridge (polled, and again on
// each of its node events); /nodes?node=<id> adds a terminal that follows the node's live
// lines (hub topics node/<id>/<bridge>) and a line to send it (POST /api/nodes/<id>/send).

import { api, byId, clock, el, live, mayOperate, nav } from "./app.js";

const BRIDGE = "nodes";        // the bridge's server name: event/nodes, server/nodes
const KINDS = ["HELLO", "HB", "STATUS", "LOG", "DATA"];
const KEPT = 2000;             // lines the terminal keeps
const LIST_EVERY_MS = 2000;
const SENT_KEPT = 50;          // lines sent, recalled with the arrow keys
const chosen = (new URLSearchParams(location.search).get("node") || "").toLowerCase();
const prefix = `node/${chosen}/`;
let lastSeq = 0;               // the hub's seq of the last stream message shown
let snapshots = 0;
let held = [];                 // lines that arrived while paused
let shown = 0;
const sent = [];
let recall = -1;
let listing = false;

// -- the list ----------------------------------------------------------------------

function heartbeat(n) {
  if (typeof n.last_heartbeat !== "number") return "–";
  const age = typeof n.heartbeat_age_s === "number" ? ` (${n.heartbeat_age_s.toFixed(1)} s ago)` : "";
  return `${clock(n.last_heartbeat)}${age}`;
}

function row(n) {
  const kinds = n.lines_by_kind || {};
  const state = n.connected ? (n.silent ? "silent" : "connected") : "gone";
  const link = el("a", { href: `/nodes?node=${encodeURIComponent(n.node)}`, text: n.node });
  return el("tr", { "data-node": n.node, class: `${state}${n.node === chosen ? " current" : ""}` },
    el("td", { class: "node" }, link),
    el("td", { text: n.type }),
    el("td", {}, el("span", { class: `light ${n.connected ? "up" : "down"}` }), ` ${state}`),
    el("td", { class: "muted", text: heartbeat(n) }),
    KINDS.map((k) => el("td", { class: "num", "data-kind": k, text: kinds[k] ?? "–" })),
    el("td", { class: `num${n.malformed ? " bad" : ""}`, "data-kind": "malformed",
               title: n.last_malformed || null, text: n.malformed }),
    el("td", { class: "num", "data-kind": "sent", text: n.sent ?? "–" }));
}

async function refreshList() {
  if (listing) return;
  listing = true;
  try {
    const answer = await api("/api/nodes");
    byId("nodes-error").textContent = "";
    byId("bridge-name").textContent = answer.bridge.commands;
    const rows = answer.nodes.map(row);
    byId("nodes").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: 11, class: "muted", text: "no node has connected yet" }))]));
    const up = answer.nodes.filter((n) => n.connected).length;
    byId("nodes-count").textContent = `${up} of ${answer.nodes.length} connected`;
    const mine = answer.nodes.find((n) => n.node === chosen);
    if (mine) showNode(mine);
  } catch (err) {
    byId("nodes-error").textContent = err.message;
  } finally {
    listing = false;
  }
}

function showNode(n) {
  byId("node-light").className = `light ${n.connected ? "up" : "down"}`;
  const where = n.address ? ` at ${n.address}` : "";
  byId("node-facts").textContent = `${n.type}${where}, ${n.connected ? "connected" : "gone"}`;
  byId("node-error").textContent = "";
}

// -- the terminal ------------------------------------------------------------------

function stamp(seconds) {
  const ms = String(Math.floor((seconds * 1000) % 1000)).padStart(3, "0");
  return `${clock(seconds)}.${ms}`;
}

function lineNode([time, direction, text]) {
  const out = direction === ">";
  return el("div", { class: `tline ${out ? "tx" : "rx"}`, "data-dir": out ? "sent" : "received" },
    el("span", { class: "t", text: stamp(time) }),
    el("span", { class: "d", text: out ? "›" : "‹" }),
    el("span", { class: "x", text }));
}

function note(text) {
  return el("div", { class: "tline note" }, el("span", { class: "x", text }));
}

function append(nodes) {
  if (byId("pause").checked) {
    held.push(...nodes);
    if (held.length > KEPT) held = held.slice(held.length - KEPT);
    byId("terminal-count").textContent = `${shown} lines, ${held.length} waiting (paused)`;
    return;
  }
  const terminal = byId("terminal");
  terminal.append(...nodes);
  while (terminal.childElementCount > KEPT) terminal.firstElementChild.remove();
  shown = terminal.childElementCount;
  byId("terminal-count").textContent = `${shown} lines`;
  terminal.scrollTop = terminal.scrollHeight;
}

function stream(m) {
  if (m.seq <= lastSeq) return;  // already shown (a snapshot repeats the latest batch)
  lastSeq = m.seq;
  const v = m.values || {};
  const nodes = (v.lines || []).map(lineNode);
  if (v.skipped) nodes.push(note(`… ${v.skipped} more lines not streamed (the bridge's rate limit)`));
  append(nodes);
}

function take(m) {
  if (m.topic.startsWith(prefix)) stream(m);
  else if (m.topic === `server/${BRIDGE}`) {
    byId("bridge-light").className = `light ${m.values.up ? "up" : "down"}`;
    byId("bridge-light").title = m.values.error || m.values.commands || "";
  } else if (m.topic === `event/${BRIDGE}`) refreshList();
}

function follow() {
  const topics = [`server/${BRIDGE}`, `event/${BRIDGE}`];
  if (chosen) topics.push(prefix);
  live(topics, {
    snapshot(s) {
      snapshots += 1;
      if (chosen && snapshots > 1) append([note("(reconnected or fell behind: lines may be missing here)")]);
      for (const m of Object.values(s.topics)) take(m);
    },
    change: take,
  });
}

// -- sending -----------------------------------------------------------------------

function outcome(kind, text) {
  byId("send-outcome").className = `send-outcome ${kind}`;
  byId("send-outcome").textContent = text;
}

async function send(event) {
  event.preventDefault();
  const input = byId("send-text");
  const text = input.value;
  if (!text.trim()) {
    outcome("error", "nothing to send: type a line first");
    return;
  }
  byId("send-button").disabled = true;
  try {
    const answer = await api(`/api/nodes/${encodeURIComponent(chosen)}/send`,
      { method: "POST", body: { text } });
    outcome("ok", `sent to ${answer.node}: ${JSON.stringify(answer.text)} (${answer.bytes} bytes)`);
    if (sent[0] !== text) sent.unshift(text);
    sent.length = Math.min(sent.length, SENT_KEPT);
    recall = -1;
    input.value = "";
    refreshList(); // its "sent" count
  } catch (err) {
    outcome("error", err.status ? `refused (HTTP ${err.status}): ${err.message}` : err.message);
  } finally {
    byId("send-button").disabled = false;
    input.focus();
  }
}

function recallSent(event) {
  if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
  event.preventDefault();
  recall = Math.max(-1, Math.min(sent.length - 1, recall + (event.key === "ArrowUp" ? 1 : -1)));
  byId("send-text").value = recall < 0 ? "" : sent[recall];
}

async function openTerminal(me) {
  byId("terminal-panel").hidden = false;
  byId("node-name").textContent = chosen;
  document.title = `controlroom · node ${chosen}`;
  byId("pause").addEventListener("change", () => {
    if (!byId("pause").checked) {
      const waiting = held;
      held = [];
      append(waiting);
    }
  });
  byId("clear").addEventListener("click", () => {
    byId("terminal").replaceChildren();
    held = [];
    shown = 0;
    append([]);
  });
  byId("send-form").addEventListener("submit", send);
  byId("send-text").addEventListener("keydown", recallSent);
  let canSend = mayOperate(me.role);
  try {
    const answer = await api(`/api/nodes/${encodeURIComponent(chosen)}`);
    showNode(answer.node);
    canSend = answer.can_send;
  } catch (err) {
    byId("node-error").textContent = `${err.message} (its lines show here once it connects)`;
  }
  if (!canSend) {
    byId("send-fieldset").disabled = true;
    byId("send-note").hidden = false;
    byId("send-note").textContent = `You are logged in as ${me.user} (${me.role}): ` +
      "sending a line to a node needs the operator role.";
  }
}

async function start() {
  const me = await nav("nodes");
  byId("bridge-name").textContent = BRIDGE;
  if (chosen) await openTerminal(me);
  follow();
  refreshList();
  setInterval(refreshList, LIST_EVERY_MS);
}

start();
