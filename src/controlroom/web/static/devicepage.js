// What a page of one device (the camera, the hexapod) shares: which device it shows
// (?device=, else the page's own), the page's meta from /api/<page>, the device's up/down
// light, its status and server events, and its commands, sent through
// POST /api/device/<device>/command like every device command of the panel, with the
// outcome shown in place. The page's HTML names its parts after the page:
// #<page>-device, -light, -note (why there is no meta), -result and -commands-note.

import { api, byId, live, nav, session } from "./app.js";

export class DevicePage {
  /** ``what`` the commands command ("the camera"), ``answering`` them ("the DPU"). */
  constructor(page, { device, what, answering = what }) {
    this.page = page;
    this.device = new URLSearchParams(location.search).get("device") || device;
    this.what = what;
    this.answering = answering;
    this.meta = null;
    this.me = null;
    this.up = true; // as the light last showed it
    this.accessListeners = [];
  }

  /** Whether this user may send commands now: their role, and the device up. */
  get mayCommand() {
    return Boolean(this.meta && this.meta.can_command && this.up);
  }

  /** Call ``fn`` whenever mayCommand may have changed (the device went down or came back). */
  onAccess(fn) {
    this.accessListeners.push(fn);
  }

  /** The nav bar, the device's name and the page's meta; false, the reason shown, if none. */
  async open() {
    const me = await nav(this.page);
    byId(`${this.page}-device`).textContent = this.device;
    try {
      this.meta = await api(`/api/${this.page}?device=${encodeURIComponent(this.device)}`);
    } catch (err) {
      byId(`${this.page}-note`).textContent = err.message;
      return false;
    }
    this.me = me || (await session());
    return true;
  }

  light(values) {
    const up = Boolean(values && values.up);
    const node = byId(`${this.page}-light`);
    node.className = `light ${up ? "up" : "down"}`;
    node.setAttribute("aria-label", up ? "up" : "down");
    if (up === this.up) return;
    this.up = up; // down means down: nothing is sent to a server that does not answer
    this.commandsNote();
    for (const fn of this.accessListeners) fn();
  }

  /** Show the light now, then follow the device: status(values) on each status it publishes,
   * the light on each event of its server. */
  follow(status) {
    this.light({ up: this.meta.up });
    live([`status/${this.device}`, `server/${this.device}`], {
      change: (m) => {
        if (m.topic.startsWith("status/")) status(m.values || {});
        else this.light(m.values);
      },
    });
  }

  /** Tell a user why the commands are off: their role, or the device is down. */
  commandsNote() {
    if (!this.meta) return;
    const note = byId(`${this.page}-commands-note`);
    let text = "";
    if (!this.meta.can_command) {
      text = `You are logged in as ${this.me.user} (${this.me.role}): ` +
        `commanding ${this.what} needs the operator role.`;
    } else if (!this.up) {
      text = `${this.device} is down: its commands are off until it answers again.`;
    }
    note.hidden = !text;
    note.textContent = text;
  }

  result(text, ok) {
    const node = byId(`${this.page}-result`);
    node.textContent = text;
    node.className = `${this.page}-result ${ok ? "ok" : "failed"}`;
  }

  /** Send one command and show how it went; never rejects (a failure is shown). */
  async send(command, args) {
    this.result(`${command} sent, waiting for ${this.answering}…`, true);
    try {
      const answer = await api(`/api/device/${encodeURIComponent(this.device)}/command`, {
        method: "POST", body: { command, args },
      });
      if (answer.ok) this.result(`${command}: done`, true);
      else this.result(`${command} failed: ${answer.error.type}: ${answer.error.message}`, false);
    } catch (err) {
      this.result(`${command} refused: ${err.message}`, false);
    }
  }
}
