// Copies the files the page and the API docs need from node_modules into the Python package
// (humanseg/server/static/vendor/), so both work offline: nothing is fetched from a CDN.
// Keep the list in step with VENDOR_ASSETS in humanseg/server/app.py (it warns when one is missing).
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "humanseg", "server", "static", "vendor");
const packages = {
  "onnxruntime-web/dist": ["ort.all.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm"],
  "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css"],
};
mkdirSync(vendor, { recursive: true });
let copied = 0;
for (const [dir, files] of Object.entries(packages)) {
  const src = join(here, "node_modules", dir);
  if (!existsSync(src)) {
    console.error(`${dir.split("/")[0]} is not installed: run \`npm ci --prefix web\` first`);
    process.exit(1);
  }
  for (const f of files) copyFileSync(join(src, f), join(vendor, f));
  copied += files.length;
}
console.log(`copied ${copied} files (onnxruntime-web, swagger-ui-dist) to ${vendor}`);
