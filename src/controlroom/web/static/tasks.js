// The tasks page: the current Setup's tasks as groups of buttons; an immediate task
// runs on a click, the others open their argument form (forms.js, from the task's
// JSON Schema); the chosen run streams its output live (taskrun.js); the history
// lists the recent runs. Live topics: tasks/catalog, tasks/runs, task/<run id>.

import { api, byId, clock, el, fmt, live, mayOperate, nav } from "./app.js";
import { renderCommandForm } from "./forms.js";
import { RunView } from "./taskrun.js";

const BASE_TOPICS = ["tasks/"];
const view = new RunView();
let connection = null;
let canRun = false;
let catalog = { groups: {}, problems: [], setup_id: null };
let runs = [];
let chosenTask = null;

function findTask(name) {
  for (const tasks of Object.values(catalog.groups)) {
    const found = tasks.find((t) => t.name === name);
    if (found) return found;
  }
  return null;
}

function renderCatalog() {
  byId("setup-note").textContent = catalog.setup_id === null || catalog.setup_id === undefined
    ? "" : `(Setup ${catalog.setup_id})`;
  byId("problems").replaceChildren(...catalog.problems.map((p) => el("li", { class: "error", text: p })));
  const groups = Object.entries(catalog.groups).map(([group, tasks]) =>
    el("div", { class: "task-group", "data-group": group },
      el("h3", { text: group }),
      el("div", { class: "task-buttons" }, tasks.map(taskButton))));
  if (!groups.length) {
    groups.push(el("p", { class: "muted", text: "The current Setup names no task modules." }));
  }
  byId("groups").replaceChildren(...groups);
  if (chosenTask && !findTask(chosenTask)) closeForm();
}

function taskButton(task) {
  const busy = task.devices.length ? ` · uses ${task.devices.join(", ")}` : "";
  return el("button", {
    type: "button", class: `task${task.immediate ? " immediate" : ""}`,
    "data-task": task.name, disabled: !canRun,
    title: `${task.doc || task.display_name}${busy}${task.building_block ? " · observation" : ""}`,
    onclick: () => (task.immediate ? start(task, {}).catch(say) : openForm(task)),
  }, task.display_name);
}

function openForm(task) {
  chosenTask = task.name;
  byId("form-panel").hidden = false;
  byId("form-title").textContent = task.display_name;
  const schema = { name: task.name, doc: task.doc, params: task.schema };
  renderCommandForm(byId("form-area"), schema, {
    submitLabel: "Run",
    onSubmit: async (args) => `run ${(await start(task, args)).id} started`,
  });
  const first = byId("form-area").querySelector("input, select");
  if (first) first.focus();
}

function closeForm() {
  chosenTask = null;
  byId("form-panel").hidden = true;
  byId("form-area").replaceChildren();
}

function say(err) {
  byId("run-message").textContent = err ? err.message : "";
}

async function start(task, args) {
  say(null);
  const run = await api("/api/tasks/run", {
    method: "POST", body: { task: task.name, arguments: args },
  });
  choose(run.id, run);
  return run;
}

function choose(id, run) {
  if (connection) connection.subscribe([...BASE_TOPICS, `task/${id}`]);
  view.show(id, run || runs.find((r) => r.id === id));
  renderHistory();
}

function renderHistory() {
  const rows = runs.map((r) => el("tr", {
    "data-run": r.id, class: `run-row ${r.state}${r.id === view.id ? " chosen" : ""}`,
    onclick: () => choose(r.id, r),
  },
  el("td", { class: "num", text: r.id }),
  el("td", { text: r.display_name, title: r.task }),
  el("td", {}, el("span", { class: `run-state ${r.state}`, text: r.state })),
  el("td", { text: r.user || "" }),
  el("td", { class: "muted", text: clock(r.started || r.submitted) }),
  el("td", { class: "num", text: r.duration_s === null ? "" : fmt(Number(r.duration_s.toFixed(3))) }),
  el("td", { class: "muted", text: r.obsid || "" })));
  byId("history").replaceChildren(...rows);
}

function renderBusy(busy) {
  const held = Object.entries(busy || {}).map(([device, id]) => `${device} (run ${id})`);
  byId("busy").textContent = held.length ? `in use: ${held.join(", ")}` : "";
}

function take(topic, values) {
  if (topic === "tasks/catalog") {
    catalog = values;
    renderCatalog();
  } else if (topic === "tasks/runs") {
    runs = values.runs;
    renderHistory();
    renderBusy(values.busy);
    const mine = runs.find((r) => r.id === view.id);
    if (mine) view.update(mine);
  } else if (topic === `task/${view.id}`) {
    view.add(values);
  }
}

function snapshot(s) {
  for (const [topic, body] of Object.entries(s.topics)) take(topic, body.values);
  view.refetch(); // a snapshot replaces changes we may have missed
}

async function init() {
  canRun = mayOperate((await nav("tasks")).role);
  byId("role-note").hidden = canRun;
  connection = live(BASE_TOPICS, { snapshot, change: (m) => take(m.topic, m.values) });
}

init();
