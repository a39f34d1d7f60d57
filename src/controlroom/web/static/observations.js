// The Observations page: the running one (live), start and end it, past ones and their data.

import { api, byId, confirmIn, el, fmt, live, mayOperate, nav, when } from "./app.js";

const state = { running: null, setupId: null, mayAct: false, shown: null };

function utc(seconds) {
  return when(new Date(seconds * 1000).toISOString());
}

function renderNow() {
  byId("running").textContent = state.running || "none";
  byId("setup-id").textContent = fmt(state.setupId);
  byId("end").hidden = !(state.mayAct && state.running);
  byId("start-form").hidden = !state.mayAct || Boolean(state.running);
  for (const row of byId("observations").children) {
    row.classList.toggle("running", row.dataset.obsid === state.running);
  }
}

function row(o) {
  const data = el("button", { type: "button", class: "data", text: "stored data",
                              onclick: () => showData(o.obsid) });
  return el("tr", { "data-obsid": o.obsid, class: o.obsid === state.shown ? "selected" : null },
    el("td", { class: "mono", text: o.obsid }),
    el("td", { text: o.description }),
    el("td", { class: "num", text: fmt(o.setup_id) }),
    el("td", { class: "muted", text: when(o.started) }),
    el("td", { class: "muted", text: o.ended ? when(o.ended) : "running" }),
    el("td", { class: "actions" }, data));
}

async function refresh() {
  byId("list-error").textContent = "";
  try {
    const listed = await api("/api/observations");
    state.running = listed.running;
    state.setupId = listed.setup_id;
    byId("observations").replaceChildren(...listed.observations.map(row));
    renderNow();
  } catch (error) {
    byId("list-error").textContent = error.message;
  }
}

function hkRow(p) {
  return el("tr", {},
    el("td", { class: "muted", text: p.origin }), el("td", { text: p.name }),
    el("td", { class: "num", text: p.complete ? p.samples : `${p.samples}+` }),
    el("td", { class: "num", text: fmt(p.last) }),
    el("td", { class: "muted", text: p.unit || "" }));
}

function journalRow(e) {
  const failed = e.outcome !== "ok";
  return el("tr", { class: failed ? "level-ERROR" : null },
    el("td", { class: "muted", text: utc(e.time) }), el("td", { text: e.server }),
    el("td", { class: "mono", text: e.command }),
    el("td", { class: "mono", text: e.arguments || "" }),
    el("td", { class: "level", text: failed ? `${e.error_type}: ${e.error_message}` : "ok" }),
    el("td", { class: "num", text: typeof e.duration_s === "number" ? `${fmt(e.duration_s)} s` : "" }));
}

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { class: "muted", colspan: columns, text }));
}

async function showData(obsid) {
  state.shown = obsid;
  for (const r of byId("observations").children) r.classList.toggle("selected", r.dataset.obsid === obsid);
  byId("data-panel").hidden = false;
  byId("data-title").textContent = `Stored data of ${obsid}`;
  byId("data-error").textContent = "";
  byId("hk").replaceChildren(emptyRow(5, "asking the storage manager…"));
  byId("journal").replaceChildren();
  try {
    const data = await api(`/api/observations/${encodeURIComponent(obsid)}/data`);
    byId("hk").replaceChildren(...(data.housekeeping.length
      ? data.housekeeping.map(hkRow) : [emptyRow(5, "no housekeeping stored")]));
    byId("journal").replaceChildren(...(data.journal.length
      ? data.journal.map(journalRow) : [emptyRow(6, "no commands journaled")]));
  } catch (error) {
    byId("hk").replaceChildren();
    byId("data-error").textContent = error.message;
  }
}

async function start(event) {
  event.preventDefault();
  byId("now-error").textContent = "";
  try {
    const started = await api("/api/observations/start", {
      method: "POST", body: { description: byId("description").value },
    });
    byId("description").value = "";
    state.running = started.obsid;
    renderNow();
    await refresh();
  } catch (error) {
    byId("now-error").textContent = error.message;
  }
}

function askEnd() {
  const question = `End observation ${state.running}?`;
  confirmIn(byId("confirm"), question, { id: "confirm-end", label: "end" }, async (close) => {
    close();
    try {
      await api("/api/observations/end", { method: "POST" });
      await refresh();
    } catch (error) {
      byId("now-error").textContent = error.message;
    }
  });
}

function confman(m) {
  if (m.topic === "status/confman") {
    const changed = (m.values.obsid ?? null) !== state.running;
    state.running = m.values.obsid ?? null;
    state.setupId = m.values.setup_id ?? null;
    renderNow();
    if (changed) refresh();
  } else if (m.topic === "event/confman" && String(m.values.event).startsWith("observation_")) {
    refresh();
  }
}

async function main() {
  state.mayAct = mayOperate((await nav("observations")).role);
  byId("refresh").addEventListener("click", refresh);
  byId("start-form").addEventListener("submit", start);
  byId("end").addEventListener("click", askEnd);
  await refresh();
  live(["status/confman", "event/confman"], {
    snapshot(s) {
      const status = s.topics["status/confman"];
      if (status) confman(status);
    },
    change: confman,
  });
}

main();
