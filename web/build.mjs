// Copies the onnxruntime-web files the page needs from node_modules into the Python package
// (humanseg/server/static/vendor/), so the page works offline: nothing is fetched from a CDN.
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "onnxruntime-web", "dist");
const vendor = join(here, "..", "humanseg", "server", "static", "vendor");
const files = ["ort.all.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"];
if (!existsSync(dist)) {
  console.error("onnxruntime-web is not installed: run `npm ci` in web/ first");
  process.exit(1);
}
mkdirSync(vendor, { recursive: true });
for (const f of files) copyFileSync(join(dist, f), join(vendor, f));
console.log(`copied ${files.length} onnxruntime-web files to ${vendor}`);
