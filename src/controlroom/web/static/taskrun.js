// One task run shown on the tasks page: its facts, its output as it streams, how it ended.
//
// Output arrives two ways and is merged by line number: the hub's `task/<id>`
// changes (lines written since the previous change) and, after each
// (re)subscription, GET /api/tasks/runs/<id>/output for the lines before them.

import { api, byId, clock, el, onNextFrame } from "./app.js";
import { errorBox, resultNodes } from "./forms.js";

function resultBox(run) {
  const [label, value] = resultNodes(run.result);
  value.classList.add("run-result");
  return el("div", { class: "cr-outcome cr-ok" }, label, value);
}

export class RunView {
  constructor() {
    this.id = null;
    this.run = null;
    this.lines = new Map(); // seq -> line
    this.missed = 0;
    this.later = onNextFrame(() => this.render());
  }

  // Show run `id` (its facts come with `update`); the output is fetched afresh.
  show(id, run) {
    if (id !== this.id) {
      this.id = id;
      this.lines = new Map();
      this.missed = 0;
    }
    byId("run-panel").hidden = false;
    byId("run-id").textContent = String(id);
    if (run) this.update(run);
    this.refetch();
  }

  // Lines the hub may have sent before our subscription: ask for everything after ours.
  async refetch() {
    const id = this.id;
    if (id === null) return;
    const after = Math.max(0, ...this.lines.keys());
    try {
      const chunk = await api(`/api/tasks/runs/${id}/output?after=${after}`);
      if (id === this.id) this.add(chunk);
    } catch (err) {
      if (id === this.id) byId("run-outcome").replaceChildren(errorBox({ message: err.message }));
    }
  }

  // A chunk {run, lines, missed} from the hub or from the API.
  add(chunk) {
    if (chunk.run !== this.id) return;
    for (const line of chunk.lines) this.lines.set(line.seq, line);
    this.missed = Math.max(this.missed, chunk.missed || 0);
    this.later();
  }

  update(run) {
    if (run.id !== this.id) return;
    this.run = run;
    this.later();
  }

  render() {
    const run = this.run;
    if (run) {
      byId("run-task").textContent = run.display_name;
      byId("run-task").title = run.task;
      const state = byId("run-state");
      state.textContent = run.state;
      state.className = `run-state ${run.state}`;
      byId("run-panel").dataset.state = run.state;
      byId("run-obsid").textContent = run.obsid || "–";
      byId("run-user").textContent = `${run.user || "?"} at ${clock(run.submitted)}`;
      byId("run-arguments").textContent = JSON.stringify(run.arguments);
    }
    this.renderOutput();
    this.renderOutcome();
  }

  renderOutput() {
    const out = byId("run-output");
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    const sorted = [...this.lines.values()].sort((a, b) => a.seq - b.seq);
    const nodes = sorted.map((line) => el("span", {
      class: `line ${line.stream}`, "data-seq": line.seq, text: `${line.text}\n`,
    }));
    if (this.missed) {
      nodes.unshift(el("span", { class: "line runner", text: `(${this.missed} earlier lines dropped)\n` }));
    }
    out.replaceChildren(...nodes);
    if (atBottom) out.scrollTop = out.scrollHeight;
  }

  renderOutcome() {
    const run = this.run;
    const outcome = byId("run-outcome");
    if (!run || run.state === "queued" || run.state === "running") {
      outcome.replaceChildren();
    } else if (run.state === "failed" && run.error) {
      outcome.replaceChildren(errorBox(run.error));
    } else {
      const took = run.duration_s === null ? "" : ` in ${run.duration_s.toFixed(3)} s`;
      outcome.replaceChildren(resultBox(run), el("small", { class: "muted", text: `ended${took}` }));
    }
  }
}
