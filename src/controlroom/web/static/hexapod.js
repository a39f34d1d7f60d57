// The hexapod page: the object's pose in the user frame, the actuator lengths and the state
// flags as the hexapod's control server publishes them (status/<device>), and buttons for its
// common commands (sent as devicepage.js sends them). Moves go out without waiting, so the
// page stays live and STOP is always at hand; the STOP button stays enabled while any other
// command is on its way.

import { byId, el, fmt } from "./app.js";
import { DevicePage } from "./devicepage.js";

const page = new DevicePage("hexapod", { device: "hexapod", what: "the hexapod" });
const BUTTONS = {
  "cmd-homing": () => ["homing", {}],
  "cmd-control-on": () => ["activate_control_loop", {}],
  "cmd-control-off": () => ["deactivate_control_loop", {}],
  "cmd-clear-error": () => ["clear_error", {}],
  "cmd-zero": () => ["goto_zero_position", {}],
};
const FLAGS = {
  "flag-homed": (v) => [yesNo(v.homed), v.homed === false],
  "flag-in-position": (v) => [yesNo(v.in_position), false],
  "flag-moving": (v) => [yesNo(v.moving), false],
  "flag-control-on": (v) => [v.control_on ? "on" : v.control_on === false ? "off" : "–", false],
  "flag-error": (v) => [v.error ? `error ${v.error_code}` : v.error === false ? "none" : "–",
    Boolean(v.error)],
};

let busy = 0; // commands on their way: the other buttons wait, STOP never does

function yesNo(value) {
  if (value === true) return "yes";
  if (value === false) return "no";
  return "–";
}

function number(value) {
  return typeof value === "number" ? value.toFixed(4) : fmt(value);
}

// -- The status ----------------------------------------------------------------------------

function rows(body, items) {
  body.replaceChildren(...items.map(([name, id, unit]) => el("tr", {},
    el("td", { text: name }),
    el("td", { class: "num", id, text: "–" }),
    el("td", { text: unit }))));
}

function status(values) {
  for (const axis of page.meta.axes) {
    byId(`pos-${axis.name}`).textContent = number(values[`user_${axis.name}`]);
  }
  for (let n = 1; n <= page.meta.actuators; n += 1) {
    byId(`len-${n}`).textContent = number(values[`length_${n}`]);
  }
  for (const [id, show] of Object.entries(FLAGS)) {
    const [text, alarm] = show(values);
    byId(id).textContent = text;
    byId(id).classList.toggle("alarm", alarm);
  }
}

// -- Commands ------------------------------------------------------------------------------

function enable() {
  const may = page.mayCommand;
  byId("cmd-stop").disabled = !may;
  byId("hexapod-actions").disabled = !may || busy > 0;
  byId("move-fields").disabled = !may || busy > 0;
}

async function send(command, args, { stop = false } = {}) {
  if (!stop) busy += 1;
  enable();
  try {
    await page.send(command, args);
  } finally {
    if (!stop) busy -= 1;
    enable();
  }
}

function moveForm() {
  const mode = byId("move-mode");
  mode.replaceChildren(...Object.entries(page.meta.moves).map(([label, command]) =>
    el("option", { value: command, text: label })));
  byId("move-inputs").replaceChildren(...page.meta.axes.map((axis) => el("label", {},
    axis.name, el("input", { type: "number", step: "any", value: "0", id: `move-${axis.name}` }),
    el("span", { class: "muted", text: axis.unit }))));
  byId("move-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const args = {};
    for (const axis of page.meta.axes) {
      args[axis.name] = Number(byId(`move-${axis.name}`).value);
    }
    send(mode.value, args);
  });
}

function commands() {
  page.commandsNote();
  page.onAccess(enable);
  byId("cmd-stop").addEventListener("click", () => send("stop", {}, { stop: true }));
  for (const [id, what] of Object.entries(BUTTONS)) {
    byId(id).addEventListener("click", () => send(...what()));
  }
  moveForm();
  enable();
}

// -- Start ---------------------------------------------------------------------------------

async function start() {
  if (!(await page.open())) return;
  rows(byId("positions"), page.meta.axes.map((a) => [a.name, `pos-${a.name}`, a.unit]));
  const actuators = Array.from({ length: page.meta.actuators }, (_, i) => i + 1);
  rows(byId("lengths"), actuators.map((n) => [`${n}`, `len-${n}`, "mm"]));
  commands();
  page.follow(status);
}

start();
