// controlroom web panel: the module every page's module imports (no libraries, no build
// step). A page is static/<name>.html inside the shell static/page.html, which loads
// static/<name>.js as a module; that module imports what it needs from here.
//
//   el(tag, attrs, ...children)    build DOM without innerHTML (text is never parsed as HTML)
//   byId(id), onNextFrame(draw)    find an element; coalesce redraws to one per frame
//   confirmIn(box, question, ...)  a yes-or-cancel question shown in place
//   session(), mayOperate(role)    {user, role, csrf, anonymous}; sends to /login when nobody
//   api(path, {method, body})      JSON fetch; adds the CSRF header to state-changing requests
//   nav(active)                    the nav bar: pages, watched status file, live indicator,
//                                  user; resolves to the session
//   live(topics, handlers)         the page's WebSocket: handlers.snapshot(s) first (or each
//                                  topic of it to handlers.change), then handlers.change(m)
//                                  per change; reconnects with backoff
//   band(value, meta)              "ok" | "warn" | "alarm" | "" from a parameter's limits
//   fmt(value), clock(t), when(iso)  numbers and times for display

const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const OPERATING_ROLES = new Set(["operator", "admin"]);
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10000;
// Every page's WebSocket also follows this topic for the nav bar's status file; the page
// gets its messages only when it asked for the topic itself.
const STATUS_FILE_TOPIC = "statusfile/";

// -- DOM ---------------------------------------------------------------------------------

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const byId = (id) => document.getElementById(id);

/** A function that runs draw() at the next animation frame, once however often it is called. */
export function onNextFrame(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** Ask in `box`: the question, a danger button {id, label} and "cancel". `yes(close)` runs
 * on the danger button; close() hides the box. */
export function confirmIn(box, question, { id, label }, yes) {
  const close = () => {
    box.hidden = true;
    box.replaceChildren();
  };
  box.replaceChildren(el("span", { text: question }),
    el("button", { type: "button", class: "danger", id, text: label, onclick: () => yes(close) }),
    el("button", { type: "button", text: "cancel", onclick: close }));
  box.hidden = false;
}

// -- Formatting --------------------------------------------------------------------------

export function band(value, meta) {
  if (typeof value !== "number" || !meta) return "";
  const outside = (b) => b && ((b[0] !== null && value < b[0]) || (b[1] !== null && value > b[1]));
  if (outside(meta.nonops)) return "alarm";
  if (outside(meta.ops)) return "warn";
  return meta.ops || meta.nonops ? "ok" : "";
}

export function fmt(value) {
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(6)));
  }
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function clock(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}

/** An ISO time as "YYYY-MM-DD hh:mm:ss" (as the server wrote it). */
export function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 19) : "";
}

// -- Session and API ---------------------------------------------------------------------

let sessionPromise = null;

export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}`);
}

export function session(refresh) {
  if (!sessionPromise || refresh) {
    sessionPromise = fetch("/api/session", { credentials: "same-origin" }).then((r) => {
      if (r.status === 401) {
        toLogin();
        throw new Error("not logged in");
      }
      return r.json();
    });
  }
  return sessionPromise;
}

export const mayOperate = (role) => OPERATING_ROLES.has(role);

export async function api(path, options) {
  const opts = options || {};
  const method = (opts.method || "GET").toUpperCase();
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method)) headers[CSRF_HEADER] = (await session()).csrf;
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 401 && !opts.noRedirect) toLogin();
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = data && data.detail !== undefined ? data.detail : response.statusText;
    const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    error.status = response.status;
    throw error;
  }
  return data;
}

// -- The nav bar -------------------------------------------------------------------------

/** The watched status file in the nav bar: its value, whether it is acknowledged and, for
 * operators, an Acknowledge button. live() feeds it; the /statusfile page shows it whole. */
class StatusFileBadge {
  constructor() {
    this.role = "viewer";
    this.shown = null; // the values drawn last
    this.note = "";
  }

  /** Once the nav bar is drawn: a page without a live connection still shows the file. */
  async start(role) {
    this.role = role;
    if (!this.shown) {
      let values;
      try {
        values = await api("/api/statusfile", { noRedirect: true });
      } catch {
        return; // a panel without the status file: nothing to show
      }
      if (!this.shown) this.show(values);
    }
    this.draw();
  }

  show(message) {
    const values = message.values || message;
    const old = this.shown;
    if (old && old.status && values.status && values.status.sequence !== old.status.sequence) {
      this.note = ""; // a new reading: an old refusal no longer applies
    }
    this.shown = values;
    this.draw();
  }

  draw() {
    const box = byId("statusfile");
    const v = this.shown;
    if (!box || !v) return;
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
      this.acknowledgement(v),
    ];
    if (this.note) parts.push(el("span", { class: "sf-note", role: "alert", text: this.note }));
    box.replaceChildren(...parts);
  }

  acknowledgement(v) {
    const status = v.status || {};
    const ack = v.acknowledgement;
    if (v.acknowledged) {
      const at = Date.parse(ack.when);
      return el("span", { class: "sf-ack acked", title: `accept file: ${v.accept_file}` },
        `✓ ${ack.who} ${Number.isNaN(at) ? ack.when : clock(at / 1000)}`);
    }
    if (!mayOperate(this.role) || status.state !== "ok" || !v.accept_file) {
      return el("span", { class: "sf-ack pending", text: "not acknowledged" });
    }
    return el("button", {
      type: "button", class: "sf-ack-button", text: "Acknowledge",
      onclick: (event) => this.acknowledge(event.currentTarget, status.sequence),
    });
  }

  async acknowledge(button, sequence) {
    button.disabled = true;
    try {
      const values = await api("/api/statusfile/acknowledge", {
        method: "POST", body: { sequence },
      });
      this.note = "";
      const old = this.shown;
      if (old && values.status && old.status && values.status.sequence >= old.status.sequence) {
        this.shown = values;
      }
    } catch (err) {
      this.note = err.message;
    }
    this.draw();
  }
}

const statusFile = new StatusFileBadge();

function setIndicator(state, text) {
  const node = byId("live-state");
  if (!node) return;
  node.className = `live-state ${state}`;
  node.textContent = text;
}

/** Draw the nav bar of the shell (static/page.html) with page `active` marked; resolves to
 * the session it shows. */
export async function nav(active) {
  const [pages, me] = await Promise.all([api("/api/pages"), session()]);
  const links = pages.map((p) =>
    el("a", { href: p.path, class: p.name === active ? "active" : null, text: p.title }));
  const logout = el("button", {
    class: "link", type: "button", text: "log out",
    onclick: async () => {
      await api("/api/logout", { method: "POST" });
      sessionPromise = null;
      location.assign("/login");
    },
  });
  const who = me.anonymous
    ? [el("span", { class: "user", text: `anonymous (${me.role})` }),
       el("a", { href: "/login", text: "log in" })]
    : [el("span", { class: "user", text: `${me.user} (${me.role})` }), logout];
  byId("nav").replaceChildren(
    el("span", { class: "brand", text: "controlroom" }),
    el("span", { class: "pages" }, links),
    el("span", { id: "statusfile", class: "statusfile", hidden: true }),
    el("span", { id: "live-state", class: "live-state connecting", text: "connecting" }),
    el("span", { class: "who" }, who),
  );
  statusFile.start(me.role);
  return me;
}

// -- The live connection -----------------------------------------------------------------

const isStatusFile = (topic) => topic.startsWith(STATUS_FILE_TOPIC);
const withStatusFile = (t) => (t.includes(STATUS_FILE_TOPIC) ? t.slice() : [...t, STATUS_FILE_TOPIC]);

/** The page's WebSocket. handlers: change(m); snapshot(s) optional (without it, the latest
 * message of each topic goes to change); reply(r) and state(s) optional.
 * Returns {command(action, data), subscribe(topics), close()}. */
export function live(topics, handlers) {
  let socket = null;
  let attempt = 0;
  let closed = false;
  let nextId = 1;
  let wanted = withStatusFile(topics);
  const pageWants = (topic) => !isStatusFile(topic) || topics.some((t) => topic.startsWith(t));
  const pending = new Map();

  function url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = encodeURIComponent(wanted.join(","));
    return `${scheme}://${location.host}/ws?topics=${query}`;
  }

  function state(name, text) {
    setIndicator(name, text);
    if (handlers.state) handlers.state(name);
  }

  function connect() {
    state("connecting", attempt ? `reconnecting (${attempt})` : "connecting");
    socket = new WebSocket(url());
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      for (const [, p] of pending) p.reject(new Error("connection lost"));
      pending.clear();
      if (closed) return;
      if (event.code === 4401) {
        toLogin();
        return;
      }
      state("offline", "offline");
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
      attempt += 1;
      setTimeout(connect, delay * (0.75 + Math.random() / 2));
    };
  }

  function receive(message) {
    if (message.type === "snapshot") {
      attempt = 0;
      state("live", "live");
      for (const [topic, body] of Object.entries(message.topics)) {
        if (isStatusFile(topic)) statusFile.show(body);
        if (!pageWants(topic)) delete message.topics[topic];
      }
      if (handlers.snapshot) handlers.snapshot(message);
      else for (const body of Object.values(message.topics)) handlers.change(body);
    } else if (message.type === "change") {
      if (isStatusFile(message.topic)) statusFile.show(message);
      if (pageWants(message.topic)) handlers.change(message);
    } else if (message.type === "reply" || message.type === "error") {
      const waiting = pending.get(message.id);
      if (waiting) {
        pending.delete(message.id);
        if (message.type === "reply") waiting.resolve(message.result);
        else waiting.reject(new Error(message.error));
      } else if (handlers.reply) handlers.reply(message);
    }
  }

  async function command(action, data) {
    const me = await session();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ ...data, type: "command", id, action, csrf: me.csrf }));
    });
  }

  function subscribe(newTopics) {
    topics = newTopics.slice();
    wanted = withStatusFile(topics);
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "subscribe", topics: wanted }));
    }
  }

  function close() {
    closed = true;
    if (socket) socket.close();
  }

  connect();
  return { command, subscribe, close };
}
