// The Setups page: list (current one marked live), view one as a tree, diff two, load one.

import { api, byId, confirmIn, el, fmt, live, mayOperate, nav, when } from "./app.js";

const OPEN_LEVELS = 2;  // tree levels shown unfolded
const state = { site: "", current: null, setups: [], mayLoad: false };

function isCurrent(meta) {
  return meta.site === state.site && meta.id === state.current;
}

function renderCurrent() {
  byId("site").textContent = state.site || "–";
  byId("current-setup").textContent = fmt(state.current);
  for (const row of byId("setups").children) {
    const current = row.dataset.site === state.site && Number(row.dataset.id) === state.current;
    row.classList.toggle("current", current);
  }
}

function actions(meta) {
  const view = el("button", { type: "button", class: "view", text: "view",
                              onclick: () => show(meta) });
  if (!state.mayLoad || meta.site !== state.site) return [view];
  const load = el("button", { type: "button", class: "load", text: "load",
                              onclick: () => askLoad(meta) });
  return [view, load];
}

function renderList() {
  const rows = state.setups.slice().reverse().map((meta) =>
    el("tr", { "data-id": meta.id, "data-site": meta.site, class: isCurrent(meta) ? "current" : null },
      el("td", { class: "num", text: meta.id }),
      el("td", { class: "muted", text: meta.site }),
      el("td", { text: meta.description }),
      el("td", { class: "muted", text: when(meta.created) }),
      el("td", { class: "num muted", text: meta.derived_from ?? "" }),
      el("td", { class: "actions" }, actions(meta))));
  byId("setups").replaceChildren(...rows);
  renderCurrent();
  fillDiffChoices();
}

function fillDiffChoices() {
  const own = state.setups.filter((m) => m.site === state.site);
  for (const [id, pick] of [["diff-a", own.length - 2], ["diff-b", own.length - 1]]) {
    const select = byId(id);
    const kept = select.value;
    select.replaceChildren(...own.map((m) =>
      el("option", { value: m.id, text: `${m.id} · ${m.description}` })));
    if (kept && own.some((m) => String(m.id) === kept)) select.value = kept;
    else if (own.length) select.value = String(own[Math.max(0, pick)].id);
  }
}

async function refresh() {
  byId("list-error").textContent = "";
  try {
    const listed = await api("/api/setups");
    Object.assign(state, { site: listed.site, current: listed.current, setups: listed.setups });
    renderList();
  } catch (error) {
    byId("list-error").textContent = error.message;
  }
}

// -- the tree -------------------------------------------------------------------------

function leafText(value) {
  if (typeof value === "string") return value;
  return value === null ? "null" : fmt(value);
}

function node(key, value, path, depth) {
  if (value === null || typeof value !== "object") {
    return el("div", { class: "leaf", "data-path": path },
      el("span", { class: "key", text: key }), ": ",
      el("span", { class: `val ${value === null ? "null" : typeof value}`, text: leafText(value) }));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const size = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return el("details", { class: "branch", "data-path": path, open: depth < OPEN_LEVELS },
    el("summary", {}, el("span", { class: "key", text: key }), " ", el("span", { class: "muted", text: size })),
    entries.map(([k, v]) => node(k, v, path ? `${path}.${k}` : k, depth + 1)));
}

async function show(meta) {
  const setup = await api(`/api/setups/${meta.id}?site=${encodeURIComponent(meta.site)}`);
  const { _meta: info, ...content } = setup;
  byId("tree-title").textContent = `Setup ${meta.site} ${meta.id}`;
  byId("tree-meta").textContent = `${info.description} · created ${when(info.created)}` +
    (info.derived_from ? ` · derived from ${info.derived_from}` : "");
  byId("tree").replaceChildren(...Object.entries(content).map(([k, v]) => node(k, v, k, 0)));
  byId("tree-panel").hidden = false;
  byId("tree-panel").scrollIntoView({ block: "nearest" });
}

function unfold(open) {
  for (const d of byId("tree").querySelectorAll("details")) d.open = open;
}

// -- the diff -------------------------------------------------------------------------

function changeRow(c) {
  return el("tr", { class: `change ${c.change}`, "data-path": c.path },
    el("td", { text: c.path }), el("td", { text: c.change }),
    el("td", { class: "old", text: c.change === "added" ? "" : fmt(c.a) }),
    el("td", { class: "new", text: c.change === "removed" ? "" : fmt(c.b) }));
}

function lineClass(line) {
  if (line.startsWith("+++") || line.startsWith("---")) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  return line.startsWith("-") ? "del" : "same";
}

async function diff() {
  byId("diff-error").textContent = "";
  const a = byId("diff-a").value;
  const b = byId("diff-b").value;
  try {
    const result = await api(`/api/setups/diff?a=${a}&b=${b}`);
    const table = result.changes.length
      ? el("table", { class: "changes" },
          el("thead", {}, el("tr", {}, ["path", "change", `Setup ${a}`, `Setup ${b}`]
            .map((h) => el("th", { text: h })))),
          el("tbody", {}, result.changes.map(changeRow)))
      : el("p", { class: "muted", text: `Setups ${a} and ${b} have the same content.` });
    const text = el("pre", { class: "unified" },
      result.text.replace(/\n$/, "").split("\n").map((line) => el("div", { class: lineClass(line), text: line || " " })));
    byId("diff").replaceChildren(table, result.text ? text : "");
  } catch (error) {
    byId("diff-error").textContent = error.message;
  }
}

// -- loading --------------------------------------------------------------------------

function askLoad(meta) {
  const box = byId("confirm");
  const question = `Load Setup ${meta.id} (${meta.description}) as the current Setup?`;
  confirmIn(box, question, { id: "confirm-load", label: "load" }, async (close) => {
    const closing = (span) => box.replaceChildren(span,
      el("button", { type: "button", text: "close", onclick: close }));
    box.replaceChildren(el("span", { text: `loading Setup ${meta.id}…` }));
    try {
      await api(`/api/setups/${meta.id}/load`, { method: "POST" });
      closing(el("span", { class: "ok", text: `Setup ${meta.id} is the current Setup` }));
    } catch (error) {
      closing(el("span", { class: "error", text: error.message }));
    }
  });
}

// -- live -----------------------------------------------------------------------------

function confman(m) {
  if (m.topic === "status/confman") {
    state.current = m.values.setup_id ?? null;
    if (m.values.site) state.site = m.values.site;
    renderCurrent();
  } else if (m.topic === "event/confman" && m.values.event === "new_setup") {
    refresh();
  }
}

async function start() {
  state.mayLoad = mayOperate((await nav("setups")).role);
  byId("refresh").addEventListener("click", refresh);
  byId("diff-go").addEventListener("click", diff);
  byId("expand").addEventListener("click", () => unfold(true));
  byId("collapse").addEventListener("click", () => unfold(false));
  await refresh();
  live(["status/confman", "event/confman"], { change: confman });
}

start();
