// Command arguments checked in the browser against a command's JSON Schema
// (CommandSpec.schema()), mirroring controlroom.device.argtypes: an operator sees
// a mistake at once; the control server checks everything again.

/** A number input holding text it cannot parse (the browser only reports "badInput"). */
export const UNREADABLE = Symbol("unreadable input");

/** One parameter schema made plain: `anyOf [T, null]` becomes T plus `nullable`. */
export function describeParameter(name, prop = {}, required = false) {
  let schema = { ...prop };
  let nullable = prop.type === "null";
  if (Array.isArray(prop.anyOf)) {
    const branches = prop.anyOf.filter((b) => !(b && b.type === "null"));
    nullable = branches.length < prop.anyOf.length;
    delete schema.anyOf;
    if (branches.length === 1) schema = { ...branches[0], ...schema };
  }
  if (Array.isArray(schema.type)) {
    nullable = nullable || schema.type.includes("null");
    schema.type = schema.type.find((t) => t !== "null");
  }
  if (schema.type === "boolean" && nullable && !schema.enum) schema.enum = [true, false];
  let kind = "json"; // no type given (`Any`): the value is read as JSON
  if (Array.isArray(schema.enum)) kind = "enum";
  else if (["boolean", "integer", "number", "string", "array"].includes(schema.type)) {
    kind = schema.type;
  }
  const hasDefault = Object.prototype.hasOwnProperty.call(prop, "default");
  return { name, schema, kind, nullable, required, hasDefault, default: prop.default };
}

function paramsOf(schema) {
  return schema && schema.params ? schema.params : schema || {};
}

/** The described parameters of a command schema (or its `params`), in declaration order. */
export function parametersOf(schema) {
  const params = paramsOf(schema);
  const props = params.properties || {};
  const required = new Set(params.required || []);
  const order = (params["x-order"] || Object.keys(props)).filter((n) => n in props);
  return order.map((n) => describeParameter(n, props[n], required.has(n)));
}

export const show = (v) => (typeof v === "string" ? `'${v}'` : JSON.stringify(v));

export function rangeText(s) {
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  const left = s.exclusiveMinimum !== undefined ? "(" : "[";
  const right = s.exclusiveMaximum !== undefined ? ")" : "]";
  return `${left}${lo ?? "−∞"}, ${hi ?? "∞"}${right}`;
}

function checkNumber(value, s, integer) {
  if (value === UNREADABLE) return { error: "not a number" };
  const n = typeof value === "string" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    return { error: `not a number: ${show(value)}` };
  }
  if (integer && !Number.isInteger(n)) return { error: `not an integer: ${show(value)}` };
  const below = (s.minimum !== undefined && n < s.minimum)
    || (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum);
  const above = (s.maximum !== undefined && n > s.maximum)
    || (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum);
  if (!below && !above) return { value: n };
  const side = below
    ? `below the minimum ${s.minimum ?? s.exclusiveMinimum}`
    : `above the maximum ${s.maximum ?? s.exclusiveMaximum}`;
  const bounds = [s.minimum, s.exclusiveMinimum, s.maximum, s.exclusiveMaximum];
  const twoSided = bounds.filter((b) => b !== undefined).length > 1;
  return { error: `out of range: ${n} is ${side}${twoSided ? `, allowed ${rangeText(s)}` : ""}` };
}

function checkString(value, s) {
  if (typeof value !== "string") return { error: `not text: ${show(value)}` };
  if (s.maxLength !== undefined && value.length > s.maxLength) {
    return { error: `too long: ${value.length} characters, at most ${s.maxLength}` };
  }
  if (s.minLength !== undefined && value.length < s.minLength) {
    return { error: `too short: at least ${s.minLength} characters` };
  }
  if (s.pattern !== undefined) {
    let re = null;
    try {
      re = new RegExp(`^(?:${s.pattern})$`);
    } catch {
      re = null; // Python-only regex syntax: leave it to the server
    }
    if (re && !re.test(value)) return { error: `does not match /${s.pattern}/` };
  }
  return { value };
}

function checkEnum(value, s) {
  // Text from an input or a URL ("1") matches the value it spells (1).
  const match = s.enum.find((e) => e === value) ?? s.enum.find((e) => String(e) === String(value));
  if (match !== undefined) return { value: match };
  return { error: `not one of ${s.enum.map(show).join(", ")}: ${show(value)}` };
}

function checkBoolean(value) {
  if (typeof value === "boolean") return { value };
  const text = String(value).trim().toLowerCase();
  if (["true", "1", "on", "yes"].includes(text)) return { value: true };
  if (["false", "0", "off", "no"].includes(text)) return { value: false };
  return { error: `not true or false: ${show(value)}` };
}

function splitList(text) {
  if (!text.startsWith("[")) {
    return { items: text === "" ? [] : text.split(",").map((p) => p.trim()) };
  }
  try {
    return { items: JSON.parse(text) };
  } catch {
    return { error: "not a list: the [...] is not valid JSON" };
  }
}

function checkArray(value, s) {
  let items = value;
  if (typeof value === "string") {
    const split = splitList(value.trim());
    if (split.error) return split;
    items = split.items;
  }
  if (!Array.isArray(items)) return { error: `not a list: ${show(value)}` };
  const fixed = Array.isArray(s.prefixItems) ? s.prefixItems : null;
  if (fixed && items.length !== fixed.length) {
    return { error: `expected ${fixed.length} values, got ${items.length}` };
  }
  if (s.minItems !== undefined && items.length < s.minItems) {
    return { error: `too few values: ${items.length}, at least ${s.minItems}` };
  }
  if (s.maxItems !== undefined && items.length > s.maxItems) {
    return { error: `too many values: ${items.length}, at most ${s.maxItems}` };
  }
  const out = [];
  for (let i = 0; i < items.length; i += 1) {
    const itemSchema = fixed ? fixed[i] : typeof s.items === "object" ? s.items : {};
    const checked = checkValue(describeParameter(`${i + 1}`, itemSchema, true), items[i]);
    if (checked.error) return { error: `item ${i + 1}: ${checked.error}` };
    out.push(checked.value);
  }
  return { value: out };
}

function checkJson(value) {
  if (typeof value !== "string") return { value };
  try {
    return { value: JSON.parse(value) };
  } catch {
    return { value }; // plain text is sent as a string
  }
}

const CHECKS = {
  enum: (v, s) => checkEnum(v, s),
  integer: (v, s) => checkNumber(v, s, true),
  number: (v, s) => checkNumber(v, s, false),
  string: (v, s) => checkString(v, s),
  boolean: (v) => checkBoolean(v),
  array: (v, s) => checkArray(v, s),
  json: (v) => checkJson(v),
};

/** Check one present value (typed, or text from an input) against a described parameter. */
export function checkValue(param, value) {
  if (value === null) return param.nullable ? { value: null } : { error: "required (none given)" };
  return CHECKS[param.kind](value, param.schema);
}

const isBlank = (raw) => raw === undefined || (typeof raw === "string" && raw.trim() === "");

/**
 * Check values against a command schema (or its `params` object schema).
 * Values may be typed or text from inputs ("1.5", "1, 2, 3"). A blank value
 * means null when the parameter allows none, an error when it is required,
 * else it is left out so the server applies the default.
 * Returns {ok, args, errors: {name: message}}.
 */
export function validate(schema, values = {}) {
  const args = {};
  const errors = {};
  const params = parametersOf(schema);
  for (const param of params) {
    const raw = values[param.name];
    if (isBlank(raw)) {
      if (param.nullable && raw !== undefined) args[param.name] = null;
      else if (param.required) errors[param.name] = "required";
      continue;
    }
    const checked = checkValue(param, raw);
    if (checked.error) errors[param.name] = checked.error;
    else args[param.name] = checked.value;
  }
  if (paramsOf(schema).additionalProperties === false) {
    const known = new Set(params.map((p) => p.name));
    for (const name of Object.keys(values)) {
      if (!known.has(name)) errors[name] = "unknown parameter";
    }
  }
  return { ok: Object.keys(errors).length === 0, args, errors };
}
