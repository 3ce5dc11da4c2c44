// humanseg in the browser: camera -> letterbox -> ONNX model (onnxruntime-web) -> EMA smoothing
// -> composite on a canvas. Pre-processing and smoothing follow humanseg/runtime (letterbox.py,
// preprocess.py, temporal.py "ema" mode) so the page and Python give the same mask for a frame.
import * as ort from "./vendor/ort.all.min.mjs";

const LONG = 256, SHORT = 144, PAD = 127, EMA_WEIGHT = 0.5;
ort.env.wasm.wasmPaths = new URL("./vendor/", import.meta.url).href;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 2) : 1;

const $ = (id) => document.getElementById(id);
const state = { frames: 0, fps: 0, prev: null, bgImage: null, comments: [], backend: "" };

/** Canvas (w, h) matching the frame's orientation, as runtime/letterbox.py canvas_for. */
export function canvasFor(w, h) { return w >= h ? [LONG, SHORT] : [SHORT, LONG]; }

/** Content box inside the canvas, as runtime/letterbox.py letterbox_box. */
export function letterboxBox(srcW, srcH, dstW, dstH) {
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const width = Math.max(1, Math.min(dstW, Math.round(srcW * scale)));
  const height = Math.max(1, Math.min(dstH, Math.round(srcH * scale)));
  return { x: Math.floor((dstW - width) / 2), y: Math.floor((dstH - height) / 2), width, height };
}

const prep = document.createElement("canvas");
const prepCtx = prep.getContext("2d", { willReadFrequently: true });

/** source (video/image/canvas) -> {tensor 1x3xHxW RGB in [-1, 1], box, cw, ch}. */
export function prepare(source, srcW, srcH) {
  const [cw, ch] = canvasFor(srcW, srcH);
  const box = letterboxBox(srcW, srcH, cw, ch);
  prep.width = cw; prep.height = ch;
  prepCtx.fillStyle = `rgb(${PAD},${PAD},${PAD})`;
  prepCtx.fillRect(0, 0, cw, ch);
  prepCtx.imageSmoothingEnabled = true;
  prepCtx.imageSmoothingQuality = "high";
  prepCtx.drawImage(source, box.x, box.y, box.width, box.height);
  const rgba = prepCtx.getImageData(0, 0, cw, ch).data;
  const n = cw * ch, data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[i] = rgba[4 * i] / 127.5 - 1;
    data[n + i] = rgba[4 * i + 1] / 127.5 - 1;
    data[2 * n + i] = rgba[4 * i + 2] / 127.5 - 1;
  }
  return { tensor: new ort.Tensor("float32", data, [1, 3, ch, cw]), box, cw, ch };
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

let session = null;
async function loadModel() {
  const providers = navigator.gpu ? ["webgpu", "wasm"] : ["wasm"];
  for (const ep of providers) {
    try {
      session = await ort.InferenceSession.create("/v1/models/portrait.onnx", { executionProviders: [ep] });
      state.backend = ep === "wasm" ? `wasm (${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads > 1 ? "s" : ""})` : ep;
      $("backend").textContent = state.backend;
      return;
    } catch (err) { console.warn(`${ep} failed`, err); }
  }
  throw new Error("could not load the model");
}

/** Segment one source: probability map on the model canvas (no temporal smoothing). */
export async function segmentCanvas(source, w, h) {
  const { tensor, box, cw, ch } = prepare(source, w, h);
  const result = await session.run({ image: tensor });
  const logits = result.logits.data;
  return { prob: personProbability(logits, cw * ch), box, cw, ch };
}

const maskCanvas = document.createElement("canvas");
const maskCtx = maskCanvas.getContext("2d");
const person = document.createElement("canvas");
const personCtx = person.getContext("2d");

function drawMask(prob, box, cw, ch, threshold) {
  maskCanvas.width = cw; maskCanvas.height = ch;
  const img = maskCtx.createImageData(cw, ch);
  for (let i = 0; i < cw * ch; i++) {
    const p = threshold > 0 ? (prob[i] >= threshold ? 1 : 0) : prob[i];
    img.data[4 * i + 3] = Math.round(p * 255);
  }
  maskCtx.putImageData(img, 0, 0);
}

function drawBackground(ctx, video, w, h, effect) {
  if (effect === "color") {
    ctx.fillStyle = $("color").value; ctx.fillRect(0, 0, w, h);
  } else if (effect === "image" && state.bgImage) {
    const s = Math.max(w / state.bgImage.width, h / state.bgImage.height);   // cover fit, no stretching
    const iw = state.bgImage.width * s, ih = state.bgImage.height * s;
    ctx.drawImage(state.bgImage, (w - iw) / 2, (h - ih) / 2, iw, ih);
  } else {
    ctx.filter = `blur(${Math.round(0.03 * Math.min(w, h))}px)`;
    ctx.drawImage(video, 0, 0, w, h);
    ctx.filter = "none";
  }
  if (effect === "comments") {
    const texts = ["hello!", "great talk", "can you share the slides?", "+1", "where is this?", "nice background"];
    ctx.font = `${Math.round(h / 16)}px sans-serif`;
    ctx.lineWidth = 4; ctx.strokeStyle = "black"; ctx.fillStyle = "white";
    texts.forEach((t, i) => {
      const period = w + ctx.measureText(t).width + 40;
      const x = w - ((state.frames * 0.006 * w + (i * 0.37 % 1) * period) % period);
      const y = (h / (texts.length + 1)) * (i + 1);
      ctx.strokeText(t, x, y); ctx.fillText(t, x, y);
    });
  }
}

async function loop(video, out) {
  const ctx = out.getContext("2d");
  let last = performance.now();
  for (;;) {
    const w = video.videoWidth, h = video.videoHeight;
    if (w && h) {
      if (out.width !== w || out.height !== h) { out.width = w; out.height = h; person.width = w; person.height = h; }
      const { prob, box, cw, ch } = await segmentCanvas(video, w, h);
      if (state.prev && state.prev.length === prob.length) {
        for (let i = 0; i < prob.length; i++) prob[i] = EMA_WEIGHT * prob[i] + (1 - EMA_WEIGHT) * state.prev[i];
      }
      state.prev = prob;
      drawMask(prob, box, cw, ch, parseFloat($("threshold").value));
      const effect = $("effect").value;
      drawBackground(ctx, video, w, h, effect);
      personCtx.globalCompositeOperation = "copy";
      personCtx.drawImage(video, 0, 0, w, h);
      personCtx.globalCompositeOperation = "destination-in";
      personCtx.drawImage(maskCanvas, box.x, box.y, box.width, box.height, 0, 0, w, h);
      ctx.drawImage(person, 0, 0);
      state.frames += 1;
      const now = performance.now();
      state.fps = 0.9 * state.fps + 0.1 * (1000 / Math.max(1, now - last));
      last = now;
      if (state.frames % 5 === 0) $("fps").textContent = `${state.fps.toFixed(1)} fps`;
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

async function main() {
  $("image").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const img = new Image();
    img.onload = () => { state.bgImage = img; $("effect").value = "image"; };
    img.src = URL.createObjectURL(file);
  });
  const params = new URLSearchParams(location.search);   // ?effect=color&color=%2300ff00&threshold=0.5
  if (params.get("effect")) $("effect").value = params.get("effect");
  if (params.get("color")) $("color").value = params.get("color");
  if (params.get("threshold")) $("threshold").value = params.get("threshold");
  await loadModel();
  const video = $("camera");
  try {
    const width = parseInt(params.get("width") || "1280"), height = parseInt(params.get("height") || "720");
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: false });
  } catch (err) {
    $("status").textContent = `no camera: ${err.message}`;
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

window.humanseg = { state, maskOfImage, ready: main().catch((e) => { $("status").textContent = e.message; throw e; }) };
