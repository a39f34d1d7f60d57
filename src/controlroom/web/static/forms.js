// Forms generated from a command's JSON Schema (CommandSpec.schema()): one field
// per parameter, checked in place before the call (see argcheck.js), with the
// result or the remote error shown under the form.

import { el } from "./app.js";
import { UNREADABLE, parametersOf, rangeText, show, validate } from "./argcheck.js";

export { describeParameter, validate } from "./argcheck.js";

let formCount = 0;

function typeHint(param) {
  const s = param.schema;
  if (param.kind === "enum") {
    // Task schemas put the parameter name in "title"; command schemas the enum type.
    const type = s["x-enum-type"] || (s.title !== param.name && s.title);
    return type || "choice";
  }
  if (param.kind === "array") return `comma-separated ${(s.items && s.items.type) || "value"}s`;
  if (param.kind === "json") return "any JSON value (other text is sent as a string)";
  return s.format ? `${param.kind} (${s.format})` : param.kind;
}

function hintFor(param) {
  const s = param.schema;
  const parts = [typeHint(param)];
  const bounds = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
  if (bounds.some((k) => k in s)) parts.push(`in ${rangeText(s)}`);
  if (s.maxLength !== undefined) parts.push(`at most ${s.maxLength} characters`);
  if (param.nullable) parts.push(param.default === null ? "empty: none (default)" : "empty: none");
  if (param.hasDefault && param.default !== null) parts.push(`default ${show(param.default)}`);
  return [s.description, parts.join(", ")].filter(Boolean).join(" — ");
}

function enumLabel(s, value, i) {
  const names = s["x-enum-names"] || s.enumNames;
  return names && names[i] !== undefined ? `${names[i]} (${value})` : String(value);
}

// Options carry an index into `enum`, so integer choices come back as integers.
function buildSelect(param, common) {
  const select = el("select", common);
  if (!param.hasDefault) {
    select.append(el("option", { value: "" }, param.required ? "— choose —" : "(default)"));
  }
  if (param.nullable) {
    select.append(el("option", { value: "null", selected: param.default === null }, "(none)"));
  }
  param.schema.enum.forEach((v, i) => {
    const selected = param.hasDefault && v === param.default;
    select.append(el("option", { value: `#${i}`, selected }, enumLabel(param.schema, v, i)));
  });
  return select;
}

function defaultText(value) {
  if (Array.isArray(value)) return value.join(", ");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function buildInput(param, id) {
  const s = param.schema;
  const common = { id, name: param.name, "aria-required": param.required ? "true" : undefined };
  if (param.kind === "boolean") {
    return el("input", { ...common, type: "checkbox", checked: param.default === true });
  }
  if (param.kind === "enum") return buildSelect(param, common);
  const numeric = param.kind === "integer" || param.kind === "number";
  const attrs = { ...common, type: numeric ? "number" : "text", autocomplete: "off" };
  if (numeric) {
    Object.assign(attrs, { min: s.minimum, max: s.maximum });
    attrs.step = param.kind === "integer" ? "1" : "any";
  }
  if (param.kind === "array") attrs.placeholder = "1, 2, 3";
  if (s.format === "path") attrs.placeholder = "path";
  const input = el("input", attrs);
  if (param.hasDefault && param.default !== null) input.value = defaultText(param.default);
  return input;
}

function readInput(param, input) {
  if (param.kind === "boolean") return input.checked;
  if (param.kind === "enum") {
    if (input.value === "") return undefined;
    if (input.value === "null") return null;
    return param.schema.enum[Number(input.value.slice(1))];
  }
  // A number input holding text it cannot parse reports "" and sets badInput.
  if (input.validity && input.validity.badInput) return UNREADABLE;
  return input.value;
}

function buildField(param, formId) {
  const id = `${formId}-${param.name}`;
  const field = el("div", { class: `cr-field cr-kind-${param.kind}`, "data-param": param.name });
  const label = el("label", { for: id }, param.name);
  if (param.required) label.append(el("span", { class: "cr-required", title: "required" }, "*"));
  const input = buildInput(param, id);
  const help = el("small", { class: "cr-help", id: `${id}-help` }, hintFor(param));
  const error = el("span", { class: "cr-field-error", id: `${id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", `${id}-help ${id}-error`);
  field.append(label, input, help, error);
  return { param, field, input, error };
}

/** A remote error {type, message, traceback} (or an Error, or a message), traceback folded. */
export function errorBox(err) {
  const info = typeof err === "string" ? { message: err } : err || {};
  const type = info.type || (info instanceof Error ? info.name : "") || "Error";
  const box = el("div", { class: "cr-remote-error", role: "alert" },
    el("strong", { class: "cr-error-type", text: type }), ": ",
    el("span", { class: "cr-error-message", text: String(info.message ?? "") }));
  if (info.traceback) {
    box.append(el("details", { class: "cr-traceback" },
      el("summary", { text: "traceback" }), el("pre", { text: info.traceback })));
  }
  return box;
}

/** What a call returned: a label and the value (text as is, anything else as JSON). */
export function resultNodes(value) {
  const text = value === undefined || value === null ? "done (no value returned)"
    : typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return [el("span", { class: "cr-outcome-label", text: "result" }),
    el("pre", { class: "cr-result", text })];
}

function buildActions(commandSchema, label) {
  const actions = el("div", { class: "cr-actions" });
  const button = el("button", { type: "submit", class: "cr-submit" }, label);
  actions.append(button);
  const r = commandSchema.returns;
  if (r && (r.type || r.enum) && r.type !== "null") {
    const what = r.title || r.type || "a choice";
    actions.append(el("small", { class: "cr-returns" }, `returns ${what}`));
  }
  return { actions, button };
}

/**
 * Build a form for one command schema inside `container` (its content is replaced).
 * `onSubmit(args)` gets the typed arguments; when it returns a promise, the form
 * shows its value with showResult or its rejection with showError.
 * Returns {form, showResult(value), showError({type, message, traceback}),
 * clearOutcome(), read() -> {ok, args, errors}}.
 */
export function renderCommandForm(container, commandSchema, { onSubmit, submitLabel } = {}) {
  formCount += 1;
  const formId = `cr-form-${formCount}`;
  const name = commandSchema.name || "command";
  const form = el("form", {
    class: "cr-form", id: formId, novalidate: true, "data-command": name,
    "data-changes-device": commandSchema.changes_device ? "true" : "false",
  });
  if (commandSchema.doc) form.append(el("p", { class: "cr-doc" }, commandSchema.doc));
  const fields = parametersOf(commandSchema).map((p) => buildField(p, formId));
  for (const f of fields) form.append(f.field);
  const { actions, button } = buildActions(commandSchema, submitLabel || name);
  const outcome = el("div", { class: "cr-outcome cr-idle", "aria-live": "polite" });
  form.append(actions, outcome);

  const setOutcome = (state, ...nodes) => {
    outcome.className = `cr-outcome cr-${state}`;
    outcome.replaceChildren(...nodes);
  };
  const showResult = (value) => setOutcome("ok", ...resultNodes(value));
  const showError = (err) => setOutcome("error", errorBox(err));
  const clearOutcome = () => setOutcome("idle");
  const read = () => {
    const values = {};
    for (const f of fields) values[f.param.name] = readInput(f.param, f.input);
    return validate(commandSchema, values);
  };
  const markErrors = (errors) => {
    for (const f of fields) {
      const message = errors[f.param.name];
      f.error.textContent = message || "";
      f.field.classList.toggle("cr-invalid", Boolean(message));
      f.input.setAttribute("aria-invalid", message ? "true" : "false");
    }
  };
  const submit = (args) => {
    clearOutcome();
    let pending;
    try {
      pending = onSubmit(args);
    } catch (err) {
      showError(err);
      return;
    }
    if (!pending || typeof pending.then !== "function") return;
    button.disabled = true; // one call at a time from this form
    setOutcome("pending", el("span", { class: "cr-outcome-label" }, "running…"));
    pending.then(showResult, showError).finally(() => { button.disabled = false; });
  };
  // Once a field shows an error, re-check as the operator edits so it clears.
  form.addEventListener("input", () => {
    if (form.querySelector(".cr-invalid")) markErrors(read().errors);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const { ok, args, errors } = read();
    markErrors(errors);
    const first = fields.find((f) => errors[f.param.name]);
    if (first) first.input.focus();
    if (ok && onSubmit) submit(args);
  });
  container.replaceChildren(form);
  return { form, showResult, showError, clearOutcome, read };
}
