// humanseg in the browser: camera -> model canvas -> ONNX model (onnxruntime-web) -> EMA smoothing
// -> composite on a canvas. Pre-processing and smoothing follow humanseg/runtime (canvas.py,
// letterbox.py, preprocess.py, temporal.py "ema" mode, and for models with a 4th input channel the
// "prior+ema" mode: the previous smoothed mask is fed back) and the blur follows effects/backgrounds.py
// Blur, so the page and Python give the same mask and a similar picture for a frame. What the served
// default model needs (fixed or adaptive canvas, 3 or 4 input channels) comes from GET /v1/models.
const PAD = 127, EMA_WEIGHT = 0.5;
const MAX_ASPECT = 3.0, PADDING_COST = 3.0;   // as runtime/canvas.py
const BLUR_STRENGTH = 3;          // sigma in % of the short side, as Blur(3)
const THRESHOLD_RAMP = 0.06;      // a hard threshold, anti-aliased over this much probability
const MAX_FAILED_FRAMES = 30;     // consecutive failed frames before the loop stops
const BUILD_HINT = "build the page assets with `npm ci --prefix web && node web/build.mjs` and restart humanseg serve";

const $ = (id) => document.getElementById(id);
const state = { frames: 0, fps: 0, prev: null, bgImage: null, comments: [], backend: "", errors: 0, stopped: false,
                model: null, priorFrames: 0 };
let ort = null;

/** Show an error on the page (and in the console); the status line is cleared. */
function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = false;
  $("status").textContent = "";
  state.lastErrorAt = performance.now();
}

/** onnxruntime-web, vendored by web/build.mjs; a clear message when it was not built. */
async function loadRuntime() {
  try {
    ort = await import("./vendor/ort.all.min.mjs");
  } catch (err) {
    throw new Error(`could not load onnxruntime-web (vendor/ort.all.min.mjs: ${err.message}); ${BUILD_HINT}`);
  }
  ort.env.wasm.wasmPaths = new URL("./vendor/", import.meta.url).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 2) : 1;
}

/** Python's round(): halves go to the even neighbour. */
function pyRound(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Aspect-adaptive canvas (w, h) for a frame, as runtime/canvas.py adaptive_canvas. */
export function adaptiveCanvas(frameW, frameH, pixels, stride) {
  const aspect = Math.min(MAX_ASPECT, Math.max(1 / MAX_ASPECT, frameW / frameH));
  const budget = Math.max(pixels, stride * stride);
  let best = [stride, stride], bestKey = null;
  for (let h = stride; h <= Math.floor(budget / stride); h += stride) {
    const widest = Math.floor(Math.floor(budget / h) / stride) * stride;
    const options = new Set([widest, Math.min(widest, Math.max(stride, pyRound(h * aspect / stride) * stride))]);
    for (const w of options) {
      if (w < stride) continue;
      const r = (w / h) / aspect;
      const key = [w * h * Math.min(r, 1 / r) ** PADDING_COST, -Math.abs(Math.log(r))];
      if (bestKey === null || key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
        best = [w, h]; bestKey = key;
      }
    }
  }
  return best;
}

/** The model's canvas (w, h) for a frame: adaptive at the model's own budget, or the fixed canvas in the
 *  frame's orientation (runtime/session.py ModelSession.canvas). */
export function canvasFor(w, h) {
  const m = state.model;
  if (m.canvas_pixels) return adaptiveCanvas(w, h, m.canvas_pixels, m.stride);
  const [long, short] = m.canvas;
  return w >= h ? [long, short] : [short, long];
}

/** Content box inside the canvas, as runtime/letterbox.py letterbox_box (whole canvas when the aspects
 *  differ by at most maxStretch). */
export function letterboxBox(srcW, srcH, dstW, dstH, maxStretch = 0) {
  if (maxStretch && Math.abs(Math.log((dstW / dstH) / (srcW / srcH))) <= Math.log1p(maxStretch) + 1e-12) {
    return { x: 0, y: 0, width: dstW, height: dstH };
  }
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const width = Math.max(1, Math.min(dstW, pyRound(srcW * scale)));
  const height = Math.max(1, Math.min(dstH, pyRound(srcH * scale)));
  return { x: Math.floor((dstW - width) / 2), y: Math.floor((dstH - height) / 2), width, height };
}

function canvas2d(options) {
  const c = document.createElement("canvas");
  return [c, c.getContext("2d", options)];
}

const [prep, prepCtx] = canvas2d({ willReadFrequently: true });

/** The previous frame's map as the 4th channel for this canvas: state.prev when the canvas and box are
 *  the same (0 in the padding), zeros at the first frame or when the canvas changed. */
function priorFor(box, cw, ch) {
  const prev = state.prev;
  const out = new Float32Array(cw * ch);
  if (!prev || prev.cw !== cw || prev.ch !== ch || prev.box.x !== box.x || prev.box.y !== box.y
      || prev.box.width !== box.width || prev.box.height !== box.height) return out;
  for (let y = box.y; y < box.y + box.height; y++) {
    const row = y * cw;
    out.set(prev.prob.subarray(row + box.x, row + box.x + box.width), row + box.x);
  }
  state.priorFrames += 1;
  return out;
}

/** source (video/image/canvas) -> {tensor 1xCxHxW: RGB in [-1, 1] (+ for C = 4 the previous mask, or
 *  zeros), box, cw, ch}. withPrior: feed state.prev back (live frames); false: zeros (a single image). */
export function prepare(source, srcW, srcH, withPrior = false) {
  const [cw, ch] = canvasFor(srcW, srcH);
  const box = letterboxBox(srcW, srcH, cw, ch, state.model.max_stretch);
  prep.width = cw; prep.height = ch;
  prepCtx.fillStyle = `rgb(${PAD},${PAD},${PAD})`;
  prepCtx.fillRect(0, 0, cw, ch);
  prepCtx.imageSmoothingEnabled = true;
  prepCtx.imageSmoothingQuality = "high";
  prepCtx.drawImage(source, box.x, box.y, box.width, box.height);
  const rgba = prepCtx.getImageData(0, 0, cw, ch).data;
  const channels = state.model.input_channels, n = cw * ch, data = new Float32Array(channels * n);
  for (let i = 0; i < n; i++) {
    data[i] = rgba[4 * i] / 127.5 - 1;
    data[n + i] = rgba[4 * i + 1] / 127.5 - 1;
    data[2 * n + i] = rgba[4 * i + 2] / 127.5 - 1;
  }
  if (channels === 4 && withPrior) data.set(priorFor(box, cw, ch), 3 * n);   // else zeros
  return { tensor: new ort.Tensor("float32", data, [1, channels, ch, cw]), box, cw, ch };
}

/** logits 1x2xhxw -> person probability (softmax channel 1), as preprocess.py person_probability. */
export function personProbability(logits, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = Math.max(-30, Math.min(30, logits[i] - logits[n + i]));
    out[i] = 1 / (1 + Math.exp(d));
  }
  return out;
}

/** GET /v1/models: {models: [{name, url, canvas, canvas_pixels, stride, max_stretch, input_channels, ...}],
 *  default}. */
async function modelListing() {
  try {
    const response = await fetch("/v1/models");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch (err) {
    throw new Error(`could not read the model list /v1/models (${err.message})`);
  }
}

let session = null;
/** Load a served model by name (default: the server's default) and make it the one the loop runs; the
 *  previous frame's map is dropped, since it came from another model. */
async function loadModel(name) {
  const listing = state.listing || (state.listing = await modelListing());
  const wanted = name || listing.default;
  const info = listing.models.find((m) => m.name === wanted);
  if (!info) throw new Error(`the model ${wanted} is not in /v1/models (${listing.models.map((m) => m.name).join(", ")})`);
  const providers = navigator.gpu ? ["webgpu", "wasm"] : ["wasm"];
  for (const ep of providers) {
    try {
      session = await ort.InferenceSession.create(info.url, { executionProviders: [ep] });
      state.model = info;
      state.prev = null;
      state.backend = ep === "wasm" ? `wasm (${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads > 1 ? "s" : ""})` : ep;
      $("backend").textContent = `${state.model.name} on ${state.backend}`;
      $("model").value = info.name;
      return;
    } catch (err) { console.warn(`${ep} failed`, err); }
  }
  throw new Error(`could not load the model ${info.url} (see the browser console)`);
}

/** Fill the model picker from /v1/models; picking one loads it while the camera keeps running. */
function fillModelPicker(listing) {
  const picker = $("model");
  for (const m of listing.models) {
    const option = document.createElement("option");
    option.value = option.textContent = m.name;
    picker.appendChild(option);
  }
  picker.addEventListener("change", () => loadModel(picker.value).catch((e) => showError(e.message)));
}

/** Segment one source: probability map on the model canvas (no temporal smoothing). withPrior: the
 *  previous frame's map is the 4th channel of 4-channel models (live frames); else zeros. */
export async function segmentCanvas(source, w, h, withPrior = false) {
  const { tensor, box, cw, ch } = prepare(source, w, h, withPrior);
  const s = session;   // the model picker may swap the session while this frame runs
  const result = await s.run({ [s.inputNames[0]]: tensor });
  const logits = result[s.outputNames[0]].data;
  return { prob: personProbability(logits, cw * ch), box, cw, ch };
}

const [lowMask, lowMaskCtx] = canvas2d();
const [mask, maskCtx] = canvas2d({ willReadFrequently: true });
const [person, personCtx] = canvas2d();

/** The mask at frame size (alpha = person): the soft map is upsampled smoothly, then thresholded
 *  at full resolution, as Python resizes the probability before its threshold (no blocky edges). */
function drawMask(prob, box, cw, ch, w, h, threshold) {
  lowMask.width = cw; lowMask.height = ch;
  const img = lowMaskCtx.createImageData(cw, ch);
  for (let i = 0; i < cw * ch; i++) img.data[4 * i + 3] = Math.round(prob[i] * 255);
  lowMaskCtx.putImageData(img, 0, 0);
  if (mask.width !== w || mask.height !== h) { mask.width = w; mask.height = h; }
  maskCtx.clearRect(0, 0, w, h);
  maskCtx.imageSmoothingEnabled = true;
  maskCtx.imageSmoothingQuality = "medium";   // bilinear when enlarging, as Python's INTER_LINEAR
  maskCtx.drawImage(lowMask, box.x, box.y, box.width, box.height, 0, 0, w, h);
  if (threshold > 0) {
    const full = maskCtx.getImageData(0, 0, w, h), a = full.data;
    const lo = 255 * (threshold - THRESHOLD_RAMP / 2), scale = 255 / (255 * THRESHOLD_RAMP);
    for (let i = 3; i < a.length; i += 4) a[i] = Math.max(0, Math.min(255, (a[i] - lo) * scale));
    maskCtx.putImageData(full, 0, 0);
  }
}

const [weighted, weightedCtx] = canvas2d({ willReadFrequently: true });
const [smallMask, smallMaskCtx] = canvas2d({ willReadFrequently: true });
const [normalised, normalisedCtx] = canvas2d({ willReadFrequently: true });
const [blurred, blurredCtx] = canvas2d();

/** Mask-aware blur, as effects/backgrounds.py Blur: blur(frame * w) / blur(w) with w = (1 - mask)^2,
 *  so the person does not smear into the background as a halo; computed at reduced size. */
function drawBlur(ctx, video, w, h) {
  const sigmaFull = Math.max(1, BLUR_STRENGTH / 100 * Math.min(w, h));
  const factor = Math.max(1, Math.min(Math.floor(sigmaFull / 3), Math.floor(Math.min(w, h) / 4)));
  const sw = Math.max(1, Math.round(w / factor)), sh = Math.max(1, Math.round(h / factor));
  const sigma = sigmaFull / factor;
  for (const c of [weighted, smallMask, normalised, blurred]) if (c.width !== sw || c.height !== sh) { c.width = sw; c.height = sh; }
  // frame pixels weighted by how surely they are background (premultiplied alpha does the multiply)
  weightedCtx.globalCompositeOperation = "copy";
  weightedCtx.drawImage(video, 0, 0, sw, sh);
  smallMaskCtx.globalCompositeOperation = "copy";
  smallMaskCtx.imageSmoothingQuality = "high";
  smallMaskCtx.drawImage(mask, 0, 0, sw, sh);
  const frame = weightedCtx.getImageData(0, 0, sw, sh), m = smallMaskCtx.getImageData(0, 0, sw, sh).data;
  for (let i = 3; i < frame.data.length; i += 4) { const b = 1 - m[i] / 255; frame.data[i] = Math.round(255 * b * b); }
  weightedCtx.putImageData(frame, 0, 0);
  // blurring premultiplied pixels gives blur(frame * w) and blur(w); un-premultiplying divides them
  normalisedCtx.globalCompositeOperation = "copy";
  normalisedCtx.filter = `blur(${sigma}px)`;
  normalisedCtx.drawImage(weighted, 0, 0);
  normalisedCtx.filter = "none";
  const out = normalisedCtx.getImageData(0, 0, sw, sh), o = out.data;
  for (let i = 3; i < o.length; i += 4) o[i] = o[i] >= 12 ? 255 : 0;   // too little background nearby: plain blur
  normalisedCtx.putImageData(out, 0, 0);
  blurredCtx.globalCompositeOperation = "copy";
  blurredCtx.filter = `blur(${sigma}px)`;
  blurredCtx.drawImage(video, 0, 0, sw, sh);
  blurredCtx.filter = "none";
  blurredCtx.globalCompositeOperation = "source-over";
  blurredCtx.drawImage(normalised, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(blurred, 0, 0, w, h);
}

function drawComments(ctx, w, h) {
  const texts = state.comments;
  ctx.font = `${Math.round(h / 16)}px sans-serif`;
  ctx.lineWidth = 4; ctx.strokeStyle = "black"; ctx.fillStyle = "white";
  texts.forEach((t, i) => {
    const period = w + ctx.measureText(t).width + 40;
    const x = w - ((state.frames * 0.006 * w + (i * 0.37 % 1) * period) % period);
    const y = (h / (texts.length + 1)) * (i + 1);
    ctx.strokeText(t, x, y); ctx.fillText(t, x, y);
  });
}

function drawBackground(ctx, video, w, h, effect) {
  ctx.globalCompositeOperation = "source-over";
  if (effect === "color") {
    ctx.fillStyle = $("color").value; ctx.fillRect(0, 0, w, h);
  } else if (effect === "image" && state.bgImage) {
    const s = Math.max(w / state.bgImage.width, h / state.bgImage.height);   // cover fit, no stretching
    const iw = state.bgImage.width * s, ih = state.bgImage.height * s;
    ctx.drawImage(state.bgImage, (w - iw) / 2, (h - ih) / 2, iw, ih);
  } else {
    drawBlur(ctx, video, w, h);
  }
  if (effect === "comments") drawComments(ctx, w, h);
}

async function renderFrame(video, out, ctx) {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return false;
  if (out.width !== w || out.height !== h) { out.width = w; out.height = h; person.width = w; person.height = h; }
  const { prob, box, cw, ch } = await segmentCanvas(video, w, h, true);
  if (state.prev && state.prev.cw === cw && state.prev.ch === ch) {
    const prev = state.prev.prob;
    for (let i = 0; i < prob.length; i++) prob[i] = EMA_WEIGHT * prob[i] + (1 - EMA_WEIGHT) * prev[i];
  }
  state.prev = { prob, box, cw, ch };
  drawMask(prob, box, cw, ch, w, h, parseFloat($("threshold").value));
  drawBackground(ctx, video, w, h, $("effect").value);
  personCtx.globalCompositeOperation = "copy";
  personCtx.drawImage(video, 0, 0, w, h);
  personCtx.globalCompositeOperation = "destination-in";
  personCtx.drawImage(mask, 0, 0);
  ctx.drawImage(person, 0, 0);
  return true;
}

/** One frame per animation frame; a failed frame is shown on the page and the loop goes on,
 *  until MAX_FAILED_FRAMES fail in a row (then it stops and says so). */
async function loop(video, out) {
  const ctx = out.getContext("2d");
  let last = performance.now(), failedInRow = 0;
  for (;;) {
    try {
      if (await renderFrame(video, out, ctx)) {
        failedInRow = 0;
        state.frames += 1;
        const now = performance.now();
        state.fps = 0.9 * state.fps + 0.1 * (1000 / Math.max(1, now - last));
        last = now;
        if (state.frames % 5 === 0) $("fps").textContent = `${state.fps.toFixed(1)} fps`;
        if (state.lastErrorAt && now - state.lastErrorAt > 5000) { $("error").hidden = true; state.lastErrorAt = 0; }
      }
    } catch (err) {
      console.error(err);
      state.errors += 1;
      failedInRow += 1;
      if (failedInRow >= MAX_FAILED_FRAMES) {
        state.stopped = true;
        showError(`stopped after ${failedInRow} failed frames in a row: ${err.message}; reload the page to retry`);
        return;
      }
      showError(`a frame failed: ${err.message}`);
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

function readComments() {
  state.comments = $("comments").value.split("\n").map((t) => t.trim()).filter((t) => t);
}

async function main() {
  $("image").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const img = new Image();
    img.onload = () => { state.bgImage = img; $("effect").value = "image"; };
    img.onerror = () => showError(`${file.name} is not an image the browser can show`);
    img.src = URL.createObjectURL(file);
  });
  $("comments").addEventListener("input", () => { readComments(); $("effect").value = "comments"; });
  // ?effect=color&color=%2300ff00&threshold=0.5&comments=first|second
  const params = new URLSearchParams(location.search);
  if (params.get("effect")) $("effect").value = params.get("effect");
  if (params.get("color")) $("color").value = params.get("color");
  if (params.get("threshold")) $("threshold").value = params.get("threshold");
  if (params.get("comments")) $("comments").value = params.get("comments").split("|").join("\n");
  readComments();
  await loadRuntime();
  state.listing = await modelListing();
  fillModelPicker(state.listing);
  await loadModel(params.get("model"));   // ?model=<name>: one of /v1/models (default: the server's default)
  const video = $("camera");
  try {
    const width = parseInt(params.get("width") || "1280"), height = parseInt(params.get("height") || "720");
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: false });
  } catch (err) {
    showError(`no camera: ${err.message}`);
    return;
  }
  await video.play();
  $("status").textContent = "";
  loop(video, $("output"));
}

/** For tests: the canvas probability map of an image URL, without smoothing. */
async function maskOfImage(url) {
  const img = new Image();
  img.src = url;
  await img.decode();
  const r = await segmentCanvas(img, img.naturalWidth, img.naturalHeight);
  return { prob: Array.from(r.prob), box: r.box, cw: r.cw, ch: r.ch };
}

/** For tests: the frame-size mask (alpha 0-255, row-major) that drawMask makes from a canvas probability map. */
function maskAtFrameSize(prob, box, cw, ch, w, h, threshold) {
  drawMask(Float32Array.from(prob), box, cw, ch, w, h, threshold);
  const rgba = maskCtx.getImageData(0, 0, w, h).data, alpha = new Array(w * h);
  for (let i = 0; i < w * h; i++) alpha[i] = rgba[4 * i + 3];
  return alpha;
}

/** For tests: the live (smoothed, fed back) canvas map of the last camera frame. */
function liveProbability() {
  const p = state.prev;
  return p && { prob: Array.from(p.prob), box: p.box, cw: p.cw, ch: p.ch };
}

window.humanseg = { state, loadModel, maskOfImage, maskAtFrameSize, liveProbability,
                    ready: main().catch((e) => { showError(e.message); throw e; }) };
