// The watched status file in the nav bar of every page: its value, whether it is
// acknowledged, and (for operators) an Acknowledge button. Loaded by CR.nav();
// fed by CR.live() with the hub topic statusfile/main (see app.js).
"use strict";

(() => {
  const { el, clock } = CR;
  let role = "viewer";
  let shown = null; // the values drawn last
  let note = "";

  function styles() {
    if (document.getElementById("statusfile-css")) return;
    document.head.append(el("link", {
      id: "statusfile-css", rel: "stylesheet", href: "/static/statusfile.css",
    }));
  }

  function when(text) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? text : clock(t / 1000);
  }

  function ackPart(v) {
    const status = v.status || {};
    const ack = v.acknowledgement;
    if (v.acknowledged) {
      return el("span", { class: "sf-ack acked", title: `accept file: ${v.accept_file}` },
        `✓ ${ack.who} ${when(ack.when)}`);
    }
    const canAck = (role === "operator" || role === "admin") && status.state === "ok"
      && v.accept_file;
    if (!canAck) return el("span", { class: "sf-ack pending", text: "not acknowledged" });
    return el("button", {
      type: "button", class: "sf-ack-button", text: "Acknowledge",
      onclick: (event) => acknowledge(event.currentTarget, status.sequence),
    });
  }

  function draw() {
    const box = document.getElementById("statusfile");
    if (!box || !shown) return;
    const v = shown;
    box.hidden = !v.configured;
    if (!v.configured) return;
    const status = v.status || { state: "missing" };
    const value = status.state === "ok" ? status.value || "(blank)" : status.state;
    const title = [v.status_file, status.text || status.error || "", v.problem || ""]
      .filter(Boolean).join("\n");
    const fresh = box.dataset.sequence !== String(status.sequence || "");
    box.className = `statusfile ${status.state}${v.acknowledged ? " acknowledged" : ""}`;
    box.dataset.sequence = status.sequence || "";
    if (fresh) {
      void box.offsetWidth; // restart the flash of a new reading
      box.classList.add("flash");
    }
    const parts = [
      el("span", { class: "sf-label", text: "status" }),
      el("a", { class: "sf-value", href: "/statusfile", title, text: value }),
      ackPart(v),
    ];
    if (note) parts.push(el("span", { class: "sf-note", role: "alert", text: note }));
    box.replaceChildren(...parts);
  }

  async function acknowledge(button, sequence) {
    button.disabled = true;
    try {
      const values = await CR.api("/api/statusfile/acknowledge", {
        method: "POST", body: { sequence },
      });
      note = "";
      if (shown && values.status && shown.status
          && values.status.sequence >= shown.status.sequence) shown = values;
    } catch (err) {
      note = err.message;
    }
    draw();
  }

  function show(message) {
    const values = message.values || message;
    if (shown && shown.status && values.status && values.status.sequence !== shown.status.sequence) {
      note = ""; // a new reading: an old refusal no longer applies
    }
    shown = values;
    draw();
  }

  async function init() {
    styles();
    CR.statusFile.show = show;
    if (CR.statusFile.latest) show(CR.statusFile.latest);
    try {
      role = (await CR.session()).role;
      if (!CR.statusFile.latest) {
        // A page without a live connection still shows the file as it was on load.
        const values = await CR.api("/api/statusfile", { noRedirect: true });
        if (!CR.statusFile.latest) show(values);
      }
    } catch {
      return; // not logged in, or a panel without the status file: nothing to show
    }
    draw();
  }

  init();
})();
