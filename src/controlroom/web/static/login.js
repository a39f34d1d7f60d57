// The login form: POST JSON to /api/login, then go where the visitor wanted to go.
// It has no session yet, so no CSRF token: app.js's api() would send it to /login again.

import { byId } from "./app.js";

const form = byId("login");
const error = byId("error");

function next() {
  const target = new URLSearchParams(location.search).get("next") || "/";
  // Only a path on this site: a second slash or a backslash would name another host.
  const local = target.startsWith("/") && target[1] !== "/" && target[1] !== "\\";
  return local ? target : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = {
    username: byId("username").value,
    password: byId("password").value,
  };
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.ok) {
    location.assign(next());
    return;
  }
  const data = await response.json().catch(() => ({}));
  error.textContent = typeof data.detail === "string" ? data.detail : "login failed";
});
