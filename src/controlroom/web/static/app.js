// controlroom web panel: the client every page shares (no libraries, no build step).
//
//   CR.el(tag, attrs, ...children)   build DOM without innerHTML (text is never parsed as HTML)
//   CR.session()                     {user, role, csrf, anonymous}; sends to /login when nobody
//   CR.api(path, {method, body})     JSON fetch; adds the CSRF header to state-changing requests
//   CR.nav(active)                   the nav bar: pages, live indicator, user, log out
//   CR.live(topics, handlers)        the page's WebSocket: handlers.snapshot(s) first, then
//                                    handlers.change(m) per change; reconnects with backoff
//   CR.band(value, meta)             "ok" | "warn" | "alarm" | "" from a parameter's limits
//   CR.fmt(value), CR.clock(t)       numbers and times for display
//   CR.statusFile                    the watched status file in the nav bar (see below)
"use strict";

const CR = (() => {
  const CSRF_HEADER = "X-CSRF-Token";
  const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
  const BACKOFF_FIRST_MS = 250;
  const BACKOFF_MAX_MS = 10000;
  let sessionPromise = null;

  // -- The watched status file, on every page --------------------------------------
  // Every page's WebSocket also follows STATUS_FILE_TOPIC; its messages go to
  // statusFile.show (set by statusfile.js, which nav() loads), not to the page.
  const STATUS_FILE_TOPIC = "statusfile/";
  const statusFile = { latest: null, show: null };
  const isStatusFile = (topic) => topic.startsWith(STATUS_FILE_TOPIC);
  const withStatusFile = (t) => (t.includes(STATUS_FILE_TOPIC) ? t.slice() : [...t, STATUS_FILE_TOPIC]);
  function statusFileNews(body) {
    statusFile.latest = body;
    if (statusFile.show) statusFile.show(body);
  }

  function el(tag, attrs, ...children) {
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

  function toLogin() {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}`);
  }

  function session(refresh) {
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

  async function api(path, options) {
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

  function setIndicator(state, text) {
    const node = document.getElementById("live-state");
    if (!node) return;
    node.className = `live-state ${state}`;
    node.textContent = text;
  }

  async function nav(active) {
    const bar = document.getElementById("nav");
    if (!bar) return;
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
    bar.replaceChildren(
      el("span", { class: "brand", text: "controlroom" }),
      el("span", { class: "pages" }, links),
      el("span", { id: "statusfile", class: "statusfile", hidden: true }),
      el("span", { id: "live-state", class: "live-state connecting", text: "connecting" }),
      el("span", { class: "who" }, who),
    );
    if (!document.getElementById("statusfile-js")) {
      document.head.append(el("script", { id: "statusfile-js", src: "/static/statusfile.js" }));
    }
  }

  // The page's WebSocket. handlers: snapshot(s), change(m), reply(r) optional, state(s) optional.
  function live(topics, handlers) {
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
          if (isStatusFile(topic)) statusFileNews(body);
          if (!pageWants(topic)) delete message.topics[topic];
        }
        handlers.snapshot(message);
      } else if (message.type === "change") {
        if (isStatusFile(message.topic)) statusFileNews(message);
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

  function band(value, meta) {
    if (typeof value !== "number" || !meta) return "";
    const outside = (b) => b && ((b[0] !== null && value < b[0]) || (b[1] !== null && value > b[1]));
    if (outside(meta.nonops)) return "alarm";
    if (outside(meta.ops)) return "warn";
    return meta.ops || meta.nonops ? "ok" : "";
  }

  function fmt(value) {
    if (typeof value === "number") {
      if (Number.isInteger(value)) return String(value);
      return String(Number(value.toPrecision(6)));
    }
    if (value === null || value === undefined) return "–";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function clock(seconds) {
    if (!seconds) return "";
    return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
  }

  return { el, session, api, nav, live, band, fmt, clock, toLogin, statusFile };
})();
