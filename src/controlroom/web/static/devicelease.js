// The lease of the device on its page (routes: pages/devicelease.py). A badge says
// "leased by <holder> until <HH:MM:SS>Z (mm:ss left)" or "not leased" and counts down;
// operators get "Take lease" with a length, the holder "Renew" and "Release", admins
// "Break" (after a question) for a lease someone else holds. The page re-reads the lease
// on each lease_* event of the device; the countdown re-reads it when it reaches zero,
// since a renewal publishes no event.

import { api, byId, confirmIn, el, mayOperate } from "./app.js";

const CHOICES = [["900", "15 min"], ["3600", "1 h"], ["14400", "4 h"]];
const TICK_MS = 1000;

/** Whether a live message is a lease event (lease_taken, _released, _expired, _broken). */
export function isLeaseEvent(m) {
  const event = m && m.values ? m.values.event : null;
  return typeof event === "string" && event.startsWith("lease_");
}

/** "2024-05-01T12:00:00Z" as "12:00:00Z" (the server writes UTC). */
export const untilText = (lease) => `${String(lease.until).slice(11, 19)}Z`;

/** "leased by otto via web (key lab) until 12:00:00Z" */
export const leaseText = (lease) => `leased by ${lease.holder} until ${untilText(lease)}`;

/** Seconds as "mm:ss", or "h:mm:ss" from an hour on. */
export function leftText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

export class DeviceLease {
  /** `base`: /api/device/<name>; `me`: the session; `changed(lease)` after each new answer. */
  constructor(base, me, changed) {
    this.base = base;
    this.me = me;
    this.changed = changed;
    this.state = null; // the panel's last answer {lease, mine}; null while unknown
    this.problem = ""; // why the lease is unknown
    this.deadline = 0; // performance.now() at which the lease shown ends
    this.asked = 0; // answers older than the latest question are dropped
    this.busy = false;
    this.rereading = false;
    this.seconds = CHOICES[0][0];
  }

  start() {
    this.refresh();
    setInterval(() => this.tick(), TICK_MS);
  }

  /** Someone else holds the device: its commands would be refused. */
  get heldByOther() {
    return Boolean(this.state && this.state.lease && !this.state.mine);
  }

  get lease() {
    return this.state ? this.state.lease : null;
  }

  async refresh() {
    const asked = ++this.asked;
    try {
      const found = await api(`${this.base}/lease`);
      if (asked === this.asked) this.show(found, "");
    } catch (err) {
      if (asked === this.asked) this.show(null, `lease unknown: ${err.message}`);
    }
  }

  show(found, problem) {
    this.state = found;
    this.problem = problem;
    const lease = this.lease;
    this.deadline = lease ? performance.now() + lease.remaining_s * 1000 : 0;
    this.drawBadge();
    this.drawActions();
    this.changed(this);
  }

  tick() {
    if (!this.lease) return;
    const left = (this.deadline - performance.now()) / 1000;
    if (left > 0) {
      this.drawBadge();
    } else if (!this.rereading) { // ended, or renewed without an event: ask again
      this.rereading = true;
      this.refresh().finally(() => { this.rereading = false; });
    }
  }

  drawBadge() {
    const badge = byId("lease-badge");
    const lease = this.lease;
    let text = this.problem || "not leased";
    let state = this.problem ? "unknown" : "free";
    if (lease) {
      const left = (this.deadline - performance.now()) / 1000;
      text = `${leaseText(lease)} (${leftText(left)} left)`;
      state = this.state.mine ? "mine" : "other";
    }
    badge.textContent = text;
    badge.className = `lease-badge ${state}`;
    badge.dataset.state = state;
  }

  drawActions() {
    const box = byId("lease-actions");
    const buttons = [];
    if (this.state && mayOperate(this.me.role)) {
      if (!this.lease || this.state.mine) buttons.push(this.lengthChoice());
      if (!this.lease) buttons.push(this.button("lease-take", "Take lease", () => this.take()));
      if (this.state.mine) {
        buttons.push(this.button("lease-renew", "Renew", () => this.take()),
          this.button("lease-release", "Release", () => this.act("/release")));
      } else if (this.lease && this.me.role === "admin") {
        buttons.push(this.button("lease-break", "Break", () => this.askBreak(), "danger"));
      }
    }
    box.replaceChildren(...buttons);
  }

  lengthChoice() {
    return el("select", { id: "lease-seconds", "aria-label": "lease length",
      disabled: this.busy, onchange: (event) => { this.seconds = event.currentTarget.value; } },
    CHOICES.map(([value, label]) =>
      el("option", { value, selected: value === this.seconds, text: label })));
  }

  button(id, text, onclick, kind) {
    return el("button", { type: "button", id, class: kind || null, text, onclick,
      disabled: this.busy });
  }

  take() {
    return this.act("", { seconds: Number(this.seconds) });
  }

  askBreak() {
    const question = `Break the lease of ${this.lease.holder}? Their commands will be refused ` +
      "from then on, and they are not asked first.";
    confirmIn(byId("lease-confirm"), question, { id: "lease-break-yes", label: "Break lease" },
      (close) => {
        close();
        this.act("/break");
      });
  }

  /** POST to the lease route `path` with `body`; the device's refusal shown in place. */
  async act(path, body) {
    const asked = ++this.asked;
    this.busy = true;
    this.drawActions();
    byId("lease-note").textContent = "";
    let found = null;
    try {
      found = await api(`${this.base}/lease${path}`, { method: "POST", body });
    } catch (err) {
      byId("lease-note").textContent = err.message;
    }
    this.busy = false;
    if (!found) await this.refresh(); // refused: someone else may hold it now
    else if (asked === this.asked) this.show(found, "");
    else this.drawActions(); // a newer answer is already shown
  }
}
