// The camera page: the latest image of a chosen CCD side (a PNG made by the panel from the
// DPU's latest_image), the DPU's status as it publishes it (status/<device>), and buttons
// for the common commands (sent as devicepage.js sends them). The image is fetched again
// when the frame counter moves, at most once per IMAGE_EVERY_MS; a PNG comes as a data:
// URL (the page's CSP allows images from this origin and data: only).

import { byId, el, fmt } from "./app.js";
import { DevicePage } from "./devicepage.js";

const IMAGE_EVERY_MS = 1000;
const page = new DevicePage("camera", { device: "dpu", what: "the camera", answering: "the DPU" });
const COMMANDS = {
  "cmd-standby": () => ["set_mode", { mode: "STANDBY" }],
  "cmd-full-image": () => ["full_image", { num_cycles: Number(byId("num-cycles-input").value) }],
  "cmd-dump": () => ["set_mode", { mode: "DUMP" }],
  "cmd-clear-flags": () => ["clear_error_flags", {}],
};

let lastCounter = null; // the frame counter the last image request was made for
let imageTimer = null;
let imageLoading = false;
let imageAgain = false;
let lastImageAt = 0;

function fill(select, values, chosen) {
  select.replaceChildren(...values.map((v) => el("option", { value: String(v), text: String(v) })));
  select.value = String(chosen);
}

// -- The image -----------------------------------------------------------------------------

function imageUrl() {
  const query = new URLSearchParams({
    device: page.device, ccd: byId("ccd").value, side: byId("side").value,
    stretch: byId("stretch").value, max_size: "512",
  });
  return `/api/camera/image.png?${query}`;
}

/** Ask for the image now, or as soon as IMAGE_EVERY_MS has passed since the last ask. */
function imageSoon() {
  if (imageLoading) {
    imageAgain = true;
    return;
  }
  if (imageTimer !== null) return;
  const wait = Math.max(0, lastImageAt + IMAGE_EVERY_MS - Date.now());
  imageTimer = setTimeout(() => {
    imageTimer = null;
    loadImage();
  }, wait);
}

function asDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function loadImage() {
  imageLoading = true;
  lastImageAt = Date.now();
  const img = byId("camera-image");
  const caption = byId("image-caption");
  try {
    const response = await fetch(imageUrl(), { credentials: "same-origin" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      caption.textContent = body.detail || `no image (HTTP ${response.status})`;
      caption.className = response.status === 404 ? "muted" : "error";
      img.hidden = true; // an image of another side, or an old one, would mislead
      delete img.dataset.frame;
      return;
    }
    const frame = response.headers.get("X-Frame-Counter");
    img.src = await asDataUrl(await response.blob());
    img.hidden = false;
    img.dataset.frame = frame;
    img.dataset.slot = `${byId("ccd").value}${byId("side").value}`;
    caption.className = "muted";
    caption.textContent = `frame ${frame} · CCD ${byId("ccd").value} side ${byId("side").value}` +
      ` · binning ${response.headers.get("X-Binning")}` +
      ` · pixels ${response.headers.get("X-Pixel-Range")}`;
  } catch (err) {
    caption.className = "error";
    caption.textContent = `image unavailable: ${err.message}`;
  } finally {
    imageLoading = false;
    if (imageAgain) {
      imageAgain = false;
      imageSoon();
    }
  }
}

// -- The status ----------------------------------------------------------------------------

function show(id, text, alarm) {
  const node = byId(id);
  node.textContent = text;
  node.classList.toggle("alarm", Boolean(alarm));
}

function flagsText(values) {
  const flags = values.error_flags;
  if (flags === null || flags === undefined) return "–";
  if (!flags) return "0 (none)";
  const names = (values.error_flag_names || []).join(", ");
  return `0x${flags.toString(16)} ${names}`.trim();
}

function status(values) {
  show("mode", fmt(values.mode));
  show("frame-counter", fmt(values.frame_counter));
  show("timecode", fmt(values.timecode));
  show("num-cycles", fmt(values.num_cycles));
  show("error-flags", flagsText(values), values.error_flags);
  show("obsid", values.obsid || "none");
  show("frames", fmt(values.frames));
  show("incomplete-frames", fmt(values.incomplete_frames), values.incomplete_frames);
  const lag = typeof values.writer_lag_s === "number" ? `${values.writer_lag_s.toFixed(2)} s` : "–";
  show("writer-lag", values.writer_lagging ? `${lag} (lagging)` : lag, values.writer_lagging);
  const up = values.processor_up;
  const state = up ? `up, pid ${values.processor_pid}` : (values.processor_state || "down");
  show("processor", state, up === false);
  show("processor-restarts", fmt(values.processor_restarts), values.processor_restarts);
  if (values.frame_counter !== null && values.frame_counter !== lastCounter) {
    lastCounter = values.frame_counter;
    imageSoon();
  }
}

// -- Commands ------------------------------------------------------------------------------

async function send(button) {
  const [command, args] = COMMANDS[button.id]();
  const fieldset = byId("camera-commands");
  fieldset.disabled = true;
  try {
    await page.send(command, args);
  } finally {
    fieldset.disabled = !page.mayCommand;
  }
}

function commands() {
  const access = () => { byId("camera-commands").disabled = !page.mayCommand; };
  access();
  page.commandsNote();
  page.onAccess(access);
  for (const id of Object.keys(COMMANDS)) {
    byId(id).addEventListener("click", (event) => send(event.currentTarget));
  }
}

// -- Start ---------------------------------------------------------------------------------

async function start() {
  if (!(await page.open())) return;
  const { meta } = page;
  fill(byId("ccd"), meta.ccds, meta.ccds[0]);
  fill(byId("side"), meta.sides, meta.sides[0]);
  fill(byId("stretch"), meta.stretches, meta.stretches[0]);
  for (const id of ["ccd", "side", "stretch"]) byId(id).addEventListener("change", imageSoon);
  commands();
  page.follow(status);
  imageSoon();
}

start();
