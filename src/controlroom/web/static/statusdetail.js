// The status file page (/statusfile): the whole reading, its fields and the
// acknowledgement; the Acknowledge button is the nav bar's (statusfile.js).
"use strict";

(() => {
  const { el, fmt } = CR;
  const $ = (id) => document.getElementById(id);
  const put = (id, value) => { $(id).textContent = value === null || value === undefined ? "–" : fmt(value); };

  function render(v) {
    const status = v.status || {};
    const ack = v.acknowledgement || {};
    $("not-configured").hidden = Boolean(v.configured);
    put("sf-path", v.status_file);
    put("sf-sequence", status.sequence);
    put("sf-state", status.state);
    put("sf-value", status.state === "ok" ? status.value : status.error);
    put("sf-read-at", status.read_at);
    $("sf-problem").textContent = v.problem || "";
    const fields = Object.entries(status.fields || {});
    $("sf-fields").replaceChildren(...fields.map(([key, value]) =>
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
    await CR.nav("statusfile");
    CR.live(["statusfile/"], {
      snapshot(s) {
        const body = s.topics["statusfile/main"];
        if (body) render(body.values);
      },
      change(m) { render(m.values); },
    });
  }

  start();
})();
