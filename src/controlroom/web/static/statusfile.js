// The status file page (/statusfile): the whole reading, its fields and the
// acknowledgement; the Acknowledge button is the nav bar's (app.js).

import { byId, el, fmt, live, nav } from "./app.js";

const put = (id, value) => { byId(id).textContent = fmt(value); };

function render(v) {
  const status = v.status || {};
  const ack = v.acknowledgement || {};
  byId("not-configured").hidden = Boolean(v.configured);
  put("sf-path", v.status_file);
  put("sf-sequence", status.sequence);
  put("sf-state", status.state);
  put("sf-value", status.state === "ok" ? status.value : status.error);
  put("sf-read-at", status.read_at);
  byId("sf-problem").textContent = v.problem || "";
  const fields = Object.entries(status.fields || {});
  byId("sf-fields").replaceChildren(...fields.map(([key, value]) =>
    el("tr", {}, el("td", { text: key }), el("td", { text: value }))));
  put("ack-path", v.accept_file);
  put("ack-state", v.acknowledgement ? (v.acknowledged ? "acknowledged" : "of an earlier reading")
    : "none yet");
  put("ack-value", ack.value);
  put("ack-who", ack.who);
  put("ack-when", ack.when);
  put("ack-sequence", ack.sequence);
}

async function start() {
  await nav("statusfile");
  live(["statusfile/"], { change: (m) => render(m.values) });
}

start();
